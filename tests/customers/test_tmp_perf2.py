import cProfile, pstats, io
from kakin.customers.schemas import CustomersBulkIn
from kakin.customers import service
from kakin.kit.db import tenant_session
from kakin.tenancy.models import Tenant
from tests.factories.api import Api
from tests.factories.customers import customer_body

def test_perf(api: Api, runtime) -> None:
    batch = {"customers": [customer_body(free_1=f"perf") for _ in range(1000)]}
    cipher = runtime.keyring.cipher(api.tenant_id)
    data = CustomersBulkIn.model_validate(batch)
    pr = cProfile.Profile()
    with tenant_session(runtime.sessions, api.tenant_id) as s:
        tenant = s.get(Tenant, api.tenant_id)
        pr.enable()
        outs = service.create_customers(s, cipher, tenant, data.customers)
        pr.disable()
    st = io.StringIO(); pstats.Stats(pr, stream=st).sort_stats("tottime").print_stats(25); print(st.getvalue()[:5000])
