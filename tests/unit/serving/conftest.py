from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.serving.pki import PKI, make_pki


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    return make_pki(tmp_path)
