"""Fail closed on the real secret routes: a broken audit log lets no secret value out, and
refuses writes before they happen."""

from __future__ import annotations

from pathlib import Path

from strongroom.audit.verify import verify_file
from tests.audit.helpers import break_with_full_disk, chain_key, read_records, repair_full_disk
from tests.support import Api, make_user_session

VALUE = "hunter2-db-password-0c41e7"


async def test_secret_read_with_a_broken_audit_sink_is_503_without_the_value(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    path = api.services.config.resolved_audit_file
    assert isinstance(path, Path)
    admin, _ = await make_user_session(api.services, "root", "admin")
    headers = api.auth(admin)
    created = await api.client.post(
        "/api/v1/secrets/create", json={"path": "team/app/db", "value": VALUE}, headers=headers
    )
    assert created.status_code == 200, created.text
    secret_id = created.json()["id"]
    read = await api.client.get(f"/api/v1/secrets/{secret_id}", headers=headers)
    assert read.json()["value"] == VALUE

    saved = break_with_full_disk(path)
    for url in (f"/api/v1/secrets/{secret_id}", "/api/v1/secrets/by-path/team/app/db"):
        refused = await api.client.get(url, headers=headers)
        assert refused.status_code == 503
        assert refused.json()["code"] == "audit_unavailable"
        assert VALUE not in refused.text
    # A write while the log is known broken is refused before it runs: nothing is stored.
    write = await api.client.post(
        "/api/v1/secrets/create", json={"path": "team/app/new", "value": "x"}, headers=headers
    )
    assert write.status_code == 503
    assert (await api.client.get("/api/v1/sys/health")).status_code == 200

    repair_full_disk(path, saved)
    assert (await api.client.get(f"/api/v1/secrets/{secret_id}", headers=headers)).is_success
    missing = await api.client.get("/api/v1/secrets/by-path/team/app/new", headers=headers)
    assert missing.status_code == 404

    assert verify_file(path, chain_key(api.services.config)).ok
    records = read_records(path)
    creation = records[0]
    assert (creation["secret_id"], creation["secret_path"]) == (secret_id, "team/app/db")
    assert records[2]["type"] == "gap"
    assert records[2]["missed"] == 1  # the withheld read; the others never ran
    raw = path.read_bytes()
    assert VALUE.encode() not in raw
    assert admin.encode() not in raw
