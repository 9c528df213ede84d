"""Issue 16, finding 1 on the password-change route: the current password is checked under
the same reserved attempts as a login, so concurrent guesses through a stolen session cannot
outrun the lock-out either. On both session stores."""

from __future__ import annotations

import asyncio

from tests.audit.helpers import read_records
from tests.support import TEST_PASSWORD, Api, make_user_session

CHANGE = "/api/v1/users/me/password"
THRESHOLD = 5


async def test_finding_1_password_change_guesses_cannot_beat_the_lockout(store_api: Api) -> None:
    api = store_api
    await api.set_settings(security__login_failure_threshold=THRESHOLD)
    access, _ = await make_user_session(api.services, "rita", password=TEST_PASSWORD)
    bearer = api.auth(access)

    def change(current: str) -> dict[str, str]:
        return {"current_password": current, "new_password": "the next long password"}

    answers = await asyncio.gather(
        *(
            api.client.post(CHANGE, json=change(f"guess number {i}"), headers=bearer)
            for i in range(30)
        )
    )
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {422, 429}, statuses
    assert 1 <= statuses.count(422) <= THRESHOLD, statuses
    refused = await api.client.post(CHANGE, json=change(TEST_PASSWORD), headers=bearer)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    records = [r for r in read_records(api.services.config.resolved_audit_file)]
    checked = [
        r for r in records if r["path"] == CHANGE and (r["details"] or {}).get("password_checked")
    ]
    assert len(checked) == statuses.count(422)
