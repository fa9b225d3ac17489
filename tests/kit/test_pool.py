"""kit.db's pool on PostgreSQL: no ping round trip, yet a connection the server closed
while it was pooled is never handed out."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from kakin.kit.db import make_engine
from kakin.runtime import Runtime


def test_a_connection_the_server_closed_while_pooled_is_replaced(runtime: Runtime) -> None:
    url = runtime.settings.resolved_database_url()
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL's server-side connection end")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            # the terminated backend has said goodbye before the next checkout looks
            admin.execute("SELECT pg_sleep(0.2)")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
