"""Published weights that cannot be downloaded: one ConnectionError that says
where to put the file by hand."""

import dataclasses

import pytest

from keras_nest.weights import loading
from tests.conftest import BACKEND, publish_locally

# Reading and checking files does not depend on the backend (the parity tests load
# weights on every backend), so these run once, in the tensorflow run.
pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="file handling is backend-free")


@pytest.mark.parametrize("where", ["missing_file", "closed_port"])
def test_failed_download_says_where_to_put_the_file(where, tmp_path, monkeypatch):
    table = {}
    cached = publish_locally(
        monkeypatch, tmp_path, table, "offline", str(tmp_path / "gone.pth"), "0" * 64, 10
    )
    published = table["offline"]
    if where == "closed_port":
        published = dataclasses.replace(published, url="http://127.0.0.1:9/gone.pth")
    with pytest.raises(ConnectionError) as info:
        loading.fetch(published)
    message = str(info.value)
    assert published.url in message
    assert str(cached) in message
    assert "weights=" in message
    assert isinstance(info.value, OSError)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not cached.exists()
