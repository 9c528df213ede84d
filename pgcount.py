import asyncio, uuid, tempfile, time, sys
from pathlib import Path
import httpx, asyncpg
sys.path.insert(0, ".")
from tests.support import ServerProcess, admin_password, pg_database, TEST_PASSWORD
from tests.cluster.conftest import cluster_env
async def stat(name):
    c = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    r = await c.fetchrow("select xact_commit+xact_rollback as x from pg_stat_database where datname=$1", name)
    await c.close(); return r["x"]
with pg_database("pgcount") as url:
    name = url.rsplit("/",1)[1]
    d = Path(tempfile.mkdtemp())
    node = ServerProcess(d, {**cluster_env(url, "redis://127.0.0.1:6391/0", f"pc{uuid.uuid4().hex[:6]}:"), "STRONGROOM_WORKERS": "2"}).start()
    try:
        tok = httpx.post(f"{node.url}/api/v1/auth/token/create", data={"grant_type":"password","username":"admin","password":admin_password(d)}).json()["access_token"]
        time.sleep(1)
        a = asyncio.run(stat(name))
        with httpx.Client() as c:
            for _ in range(3000):
                r = c.post(f"{node.url}/api/v1/auth/check_token", json={"username":"admin"}, headers={"Authorization": f"Bearer {tok}"})
                assert r.status_code == 200, r.text
        time.sleep(0.7)
        b = asyncio.run(stat(name))
        print("transactions during 3000 checks:", b - a)
    finally:
        node.stop()
