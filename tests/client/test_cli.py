"""The client commands: pipe-safe values, what `kv get` imports, errors and exit statuses,
the token cache shared by processes, shell completion."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.client.conftest import unique
from tests.client.walkthrough import environment
from tests.support import ServerProcess, admin_password, free_port

PASSWORD = "correct horse battery staple"
# A value with spaces, quotes of both kinds, a trailing newline and non-ASCII text.
AWKWARD = " two  spaces, \"double\" and 'single' quotes, héllo ✓ 日本語 \\n tab\there\n"
SERVER_ROOTS = {"fastapi", "starlette", "sqlalchemy", "granian", "alembic", "asyncpg", "redis"}


class Cli:
    """`strongroom` as a user runs it: its own HOME, the server found through
    STRONGROOM_ADDR / STRONGROOM_CACERT."""

    def __init__(self, server: ServerProcess, home: Path) -> None:
        self.env = {
            **environment(home),
            "STRONGROOM_ADDR": server.url,
            "STRONGROOM_CACERT": str(server.data_dir / "ca.pem"),
        }
        del self.env["STRONGROOM_FORMAT"]
        self.home = home
        self.name = ""  # the user logged in by the `cli` fixture

    def __call__(
        self, *args: str, stdin: str | bytes = b"", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        return subprocess.run(
            [str(Path(sys.executable).parent / "strongroom"), *args],
            input=data,
            capture_output=True,
            env={**self.env, **(env or {})},
            timeout=60,
        )

    def shell(self, command: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["bash", "-c", command], capture_output=True, env=self.env, timeout=60, cwd=self.home
        )


@pytest.fixture(scope="module")
def cli_user(server: ServerProcess) -> str:
    """One user of the `user` role for the tests of this module (each works under its own
    paths below `users/<name>/`)."""
    from strongroom_client import Client

    name = unique("cli")
    with Client(server.url, str(server.data_dir / "ca.pem"), token="-") as admin:
        admin.login("admin", admin_password(server.data_dir))
        admin.users.create(name, PASSWORD, role="user")
    return name


@pytest.fixture
def cli(
    server: ServerProcess, cli_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """A user of the command line, logged in (its token cache written as `login` writes it)."""
    from strongroom_client import Client, FileTokenStore

    run = Cli(server, tmp_path / "home")
    run.home.mkdir()
    run.name = cli_user
    monkeypatch.setenv("HOME", str(run.home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    with Client(server.url, str(server.data_dir / "ca.pem"), token="-") as client:
        tokens = client.login(cli_user, PASSWORD)
    FileTokenStore(server.url).save(tokens, cli_user)
    return run


def test_field_piped_is_exactly_the_value(cli: Cli) -> None:
    """Acceptance 2: `kv get --field K` into another command gets exactly the value bytes."""
    path = f"users/{cli.name}/awkward"
    put = cli("kv", "put", path, f"k={AWKWARD}", "other=x")
    assert put.returncode == 0, put.stderr
    piped = cli.shell(f"strongroom kv get {path} --field k | sha256sum")
    assert piped.stdout.split()[0].decode() == hashlib.sha256(AWKWARD.encode()).hexdigest()
    got = cli.shell(f"strongroom kv get {path} --field k > out.bin && cat out.bin")
    assert got.stdout == AWKWARD.encode()


def test_string_values_from_file_and_stdin_round_trip(cli: Cli, tmp_path: Path) -> None:
    base = f"users/{cli.name}"
    source = tmp_path / "value.txt"
    source.write_bytes(AWKWARD.encode())
    assert cli("kv", "put", f"{base}/file", "--value", f"@{source}").returncode == 0
    assert cli("kv", "put", f"{base}/stdin", "--value", "-", stdin=AWKWARD).returncode == 0
    for name in ("file", "stdin"):
        got = cli("kv", "get", f"{base}/{name}", "--format", "value")
        assert (got.returncode, got.stdout, got.stderr) == (0, AWKWARD.encode(), b"")
    cli("kv", "put", f"{base}/obj", "a=1", "b= two ")
    assert cli("kv", "get", f"{base}/obj", "-f", "value").stdout == b'{"a":"1","b":" two "}'


def test_kv_mv_renames_a_secret_and_a_prefix(cli: Cli) -> None:
    base = f"users/{cli.name}/mv"
    cli("kv", "put", f"{base}/a", "--value", "MV-VALUE")
    first = json.loads(cli("kv", "get", f"{base}/a").stdout)
    moved = cli("kv", "mv", f"{base}/a", f"{base}/b", "-f", "json")
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout) == [{"from": f"{base}/a", "to": f"{base}/b", "id": first["id"]}]
    assert b"MV-VALUE" not in moved.stdout
    whole = cli("kv", "mv", f"{base}/", f"users/{cli.name}/mv2/", "-f", "value")
    assert whole.stdout.decode().splitlines() == [f"{base}/b -> users/{cli.name}/mv2/b"]
    assert json.loads(cli("kv", "get", f"users/{cli.name}/mv2/b").stdout)["id"] == first["id"]
    usage = cli("kv", "mv", f"{base}/", "no-slash")
    assert usage.returncode == 2 and b"Traceback" not in usage.stderr


def test_formats_of_a_read(cli: Cli) -> None:
    path = f"users/{cli.name}/formats/f"
    cli("kv", "put", path, "user=app", "--metadata", "env=ci")
    piped = cli("kv", "get", path)  # not a terminal: json
    assert json.loads(piped.stdout)["value"] == {"user": "app"}
    assert b"value:\n  user: app\n" in cli("kv", "get", path, "-f", "yaml").stdout
    table = cli("kv", "get", path, "-f", "table").stdout.decode()
    assert "== Data ==" in table and "user" in table and "env=ci" in table
    listed = cli("kv", "list", f"users/{cli.name}/formats/", "-f", "value")
    assert listed.stdout.decode().splitlines() == [path]


def test_missing_path_exits_2_and_prints_nothing(cli: Cli) -> None:
    got = cli("kv", "get", f"users/{cli.name}/none")
    assert (got.returncode, got.stdout) == (2, b"")
    assert got.stderr.decode().count("\n") == 1
    assert got.stderr.startswith(b"strongroom: error: not_found:")


def test_errors_are_one_line_without_traceback(cli: Cli) -> None:
    usage = cli("kv", "destroy", "a/b")
    assert usage.returncode == 2 and usage.stderr.count(b"\n") == 1
    assert b"--versions" in usage.stderr
    forbidden = cli("kv", "put", "team/x", "--value", "v")
    assert forbidden.returncode == 1
    assert forbidden.stderr.startswith(b"strongroom: error: forbidden:")
    elsewhere = {"STRONGROOM_ADDR": f"https://127.0.0.1:{free_port()}", "STRONGROOM_TOKEN": "t"}
    away = cli("kv", "get", "a/b", env=elsewhere)
    assert away.returncode == 1 and away.stderr.count(b"\n") == 1
    assert b"connection_failed" in away.stderr
    for result in (usage, forbidden, away):
        assert b"Traceback" not in result.stderr and result.stdout == b""


def test_a_wrong_password_is_said_without_echoing_it(cli: Cli) -> None:
    got = cli("login", "-u", cli.name, "--password-stdin", stdin="wrong-password-123\n")
    assert got.returncode == 1
    assert b"invalid_grant" in got.stderr and b"wrong-password-123" not in got.stderr + got.stdout


def test_token_env_overrides_the_cache(cli: Cli, server: ServerProcess) -> None:
    from strongroom_client import Client

    with Client(server.url, str(server.data_dir / "ca.pem"), token="x") as admin:
        admin.login("admin", admin_password(server.data_dir))
        token = admin.token or ""
    who = cli("whoami", "-f", "value", env={"STRONGROOM_TOKEN": token})
    assert who.stdout == b"admin"
    assert cli("whoami", "-f", "value").stdout == cli.name.encode()
    printed = cli("login", "-u", cli.name, "--password-stdin", "--print-token", stdin=PASSWORD)
    assert printed.stdout.startswith(b"sra_") and printed.stdout.count(b"\n") == 1


@pytest.mark.slow
def test_processes_sharing_an_expired_login_renew_it_once(cli: Cli) -> None:
    """Four commands at once after the access token expired: the file lock lets one renew
    and the others use its tokens (two renews with one refresh token end the session)."""
    name = cli.name
    assert (
        cli("login", "-u", name, "--password-stdin", "--ttl", "2", stdin=PASSWORD).returncode == 0
    )
    cli("kv", "put", f"users/{name}/k", "--value", "v")
    (token_file,) = (cli.home / ".config" / "strongroom").glob("token-*.json")
    before = json.loads(token_file.read_text())
    time.sleep(2.5)
    command = [
        str(Path(sys.executable).parent / "strongroom"),
        "kv",
        "get",
        f"users/{name}/k",
        "-f",
        "value",
    ]
    runs = [
        subprocess.Popen(command, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [out for out, _ in outputs] == [b"v"] * 4, outputs
    after = json.loads(token_file.read_text())
    assert after["access_token"] != before["access_token"]
    assert after["session_id"] == before["session_id"]
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def _loaded_modules(code: str, env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, timeout=60, check=True
    )
    return set(json.loads(done.stderr.decode().strip().splitlines()[-1]))


def _server_modules(modules: set[str]) -> set[str]:
    allowed = {"strongroom", "strongroom.cli", "strongroom.cli.main"}
    return {
        m
        for m in modules
        if m.split(".")[0] in SERVER_ROOTS or (m.startswith("strongroom.") and m not in allowed)
    }


def test_the_sdk_and_kv_get_import_nothing_of_the_server(cli: Cli) -> None:
    """Acceptance 4: `import strongroom_client`, `strongroom kv get --help` and a real
    `strongroom kv get` load none of fastapi, sqlalchemy, granian (nor the server's code)."""
    dump = "import json, sys; sys.stderr.write(json.dumps(sorted(sys.modules)) + '\\n')"
    sdk = _loaded_modules(f"import strongroom_client\n{dump}", cli.env)
    assert "strongroom_client" in sdk and _server_modules(sdk) == set()
    assert "httpx" not in sdk  # loaded when a client is made, not on import
    for args in (["kv", "get", "--help"], ["kv", "get", f"users/{cli.name}/none"]):
        code = f"from strongroom.cli.main import main\nmain({args!r})\n{dump}"
        loaded = _loaded_modules(code, cli.env)
        assert "click" in loaded and _server_modules(loaded) == set(), args
        assert not {"httpx", "rich", "yaml", "pydantic", "asyncio"} & loaded, args


def test_node_commands_still_dispatch(cli: Cli) -> None:
    assert cli("--version").stdout == b"strongroom 0.1.0\n"
    helped = cli("server", "--help")
    assert helped.returncode == 0 and b"--data-dir" in helped.stdout
    listed = cli("--help").stdout
    assert b"kv" in listed and b"server" in listed and b"migrate" in listed
    bare = cli("kv")
    assert (bare.returncode, bare.stderr) == (2, b"") and b"Commands:" in bare.stdout


def test_completion_scripts(cli: Cli) -> None:
    for shell, marker in (("bash", b"complete "), ("zsh", b"compdef"), ("fish", b"complete ")):
        got = cli("completion", shell)
        assert (
            got.returncode == 0 and marker in got.stdout and b"_STRONGROOM_COMPLETE" in got.stdout
        )
    words = cli(
        env={
            "_STRONGROOM_COMPLETE": "bash_complete",
            "COMP_WORDS": "strongroom kv ge",
            "COMP_CWORD": "2",
        }
    )
    assert b"plain,get" in words.stdout


def test_backup_create_and_a_refused_restore(
    cli: Cli, server: ServerProcess, tmp_path: Path
) -> None:
    """Issue 22: `backup create` writes an encrypted file (0600, no value in clear); a restore
    into a server that holds secrets, a flipped byte and a wrong passphrase are refused with
    one line and exit status 1; a user who is not an admin is refused."""
    from strongroom_client import Client

    cli("kv", "put", f"users/{cli.name}/bk", "--value", "BACKUP-MARKER-VALUE")
    with Client(server.url, str(server.data_dir / "ca.pem"), token="-") as admin:
        token = admin.login("admin", admin_password(server.data_dir)).access_token
    as_admin = {"STRONGROOM_TOKEN": token}
    phrase = tmp_path / "pass"
    phrase.write_text("a long backup passphrase\n")
    file = tmp_path / "s.backup"
    made = cli("backup", "create", str(file), "--passphrase-file", str(phrase), env=as_admin)
    assert made.returncode == 0, made.stderr
    assert made.stderr.startswith(b"backed up ") and made.stdout == b""
    data = file.read_bytes()
    assert file.stat().st_mode & 0o777 == 0o600
    assert b"BACKUP-MARKER-VALUE" not in data and cli.name.encode() not in data

    full = cli("backup", "restore", str(file), "--dry-run", "--passphrase-file", str(phrase),
               env=as_admin)  # fmt: skip
    assert full.returncode == 1 and b"not_empty" in full.stderr, full.stderr
    altered = tmp_path / "altered.backup"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    altered.write_bytes(bytes(flipped))
    wrong = tmp_path / "wrong"
    wrong.write_text("another passphrase\n")
    for path, secret in ((altered, phrase), (file, wrong)):
        refused = cli("backup", "restore", str(path), "--passphrase-file", str(secret),
                      env=as_admin)  # fmt: skip
        assert refused.returncode == 1, refused.stderr
        assert b"not a strongroom backup, the passphrase is wrong" in refused.stderr
        assert refused.stderr.count(b"\n") == 1 and b"Traceback" not in refused.stderr
    user = cli("backup", "create", str(tmp_path / "u.backup"), "--passphrase-file", str(phrase))
    assert user.returncode == 1 and b"forbidden" in user.stderr, user.stderr
    assert not (tmp_path / "u.backup").exists()
