"""A closed tab gives its upload back once it can no longer be resumed, with no other tab connecting.

Streamlit alone keeps a disconnected session, and its uploaded files, until another session writes to
its session storage after ``server.disconnectedSessionTTL``; ``app/sessions.py`` sweeps the storage
and shuts expired sessions down. Seen from inside a real server (bench/memhook.py).
"""

from __future__ import annotations

import time

import pytest

from bench.load import student_photo
from bench.sessions import QUERY, Session, serve

pytestmark = pytest.mark.slow  # serves the app and waits out a session TTL

TTL_S = 2


def test_a_closed_sessions_upload_is_released_after_the_ttl(tmp_path):
    extra = ("--server.disconnectedSessionTTL", str(TTL_S))
    with serve(hook=tmp_path, extra=extra) as server:
        session = Session(server.url, query=QUERY)
        session.open()
        session.upload(*student_photo(1))
        # a photo's file is freed once its picture is kept (app.upload.release): the session holds the picture
        kept = server.probe("photo")["streamlit"]
        assert kept["uploaded_files"] == 0 and kept["sessions"] == 1
        # a file the page cannot use stays in its uploader, with its message, until the user replaces it
        refused = session.upload("notes.jpg", b"lecture notes, not a picture\n" * 20)
        assert len(refused.errors) == 1 and "cannot be used" in refused.errors[0], refused.errors
        held = server.probe("held")["streamlit"]
        assert held["uploaded_files"] == 1 and held["sessions"] == 1
        session.close()
        time.sleep(TTL_S / 2)
        # still within the TTL: kept for a browser that reconnects
        assert server.probe("kept")["streamlit"]["uploaded_files"] == 1
        deadline = time.monotonic() + TTL_S + 10
        while (stats := server.probe(f"released_{time.monotonic():.0f}")["streamlit"])["uploaded_files"]:
            assert time.monotonic() < deadline, stats
            time.sleep(0.5)
        assert stats["sessions"] == 0
        assert session.errors == refused.errors
