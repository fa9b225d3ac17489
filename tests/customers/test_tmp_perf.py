import time
from tests.factories.api import Api
from tests.factories.customers import customer_body

def test_perf(api: Api, runtime) -> None:
    best = 9.0
    for round in range(8):
        batch = {"customers": [customer_body(free_1=f"perf{round}") for _ in range(1000)]}
        t = time.perf_counter()
        r = api.post("/v1/customers/bulk", json=batch)
        best = min(best, time.perf_counter() - t)
        assert r.status_code == 201
    print(runtime.engine.dialect.name, f"best {1000/best:.0f}/s {best*1000:.0f}ms")
