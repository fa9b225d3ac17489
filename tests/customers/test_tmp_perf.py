import time
from sqlalchemy import insert
from kakin.customers.schemas import CustomersBulkIn, PERSONAL_FIELDS
from kakin.customers import service
from kakin.customers.models import Customer
from kakin.kit.ids import new_id
from kakin.kit.db import tenant_session, insert_rows, utcnow
from tests.factories.api import Api
from tests.factories.customers import customer_body

def rows(cipher, data, tenant_id):
    now = utcnow()
    out = []
    for d in data.customers:
        out.append({"tenant_id": tenant_id, "id": new_id("cus"), **service.seal(cipher, d.model_dump(include=set(PERSONAL_FIELDS))),
            "free": {}, **{f"free_{i}": None for i in range(1, 11)}, "status": "active", "deleted_at": None, "created_at": now, "updated_at": now, "version": 1})
    return out

def test_perf(api: Api, runtime) -> None:
    cipher = runtime.keyring.cipher(api.tenant_id)
    batch = {"customers": [customer_body(free_1=f"perf") for _ in range(1000)]}
    data = CustomersBulkIn.model_validate(batch)
    for r in range(3):
        T = {}
        with tenant_session(runtime.sessions, api.tenant_id) as s:
            rs = rows(cipher, data, api.tenant_id)
            t = time.perf_counter(); insert_rows(s, Customer, rs); T["orm"] = time.perf_counter()-t
            rs = rows(cipher, data, api.tenant_id)
            t = time.perf_counter(); s.execute(insert(Customer.__table__), rs); T["core_many"] = time.perf_counter()-t
            if runtime.engine.dialect.name == "postgresql":
                from psycopg.types.json import Jsonb
                rs = rows(cipher, data, api.tenant_id)
                cols = list(rs[0].keys())
                t = time.perf_counter()
                raw = s.connection().connection.driver_connection
                with raw.cursor() as cur:
                    with cur.copy(f"COPY customers ({', '.join(cols)}) FROM STDIN") as cp:
                        for r in rs:
                            cp.write_row([Jsonb(r[c]) if c == "free" else (r[c].replace(tzinfo=None) if c.endswith("_at") and r[c] else r[c]) for c in cols])
                T["copy"] = time.perf_counter()-t
        print(runtime.engine.dialect.name, {k: f"{v*1000:.0f}ms" for k, v in T.items()})
