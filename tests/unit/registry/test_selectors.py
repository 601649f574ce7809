import pytest

from k8s_aggapi.errors import BadRequest
from k8s_aggapi.registry.selectors import FieldSelector, LabelSelector

LABELS = {"app": "web", "tier": "front", "env": ""}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app=db", False),
        ("missing!=x", True),
        ("app in (web,db)", True),
        ("app notin (web)", False),
        ("app,tier", True),
        ("!app", False),
        ("!missing", True),
        ("env=", True),
        ("app=web,tier=back", False),
        ("app in (db, web), tier", True),
    ],
)
def test_label_selector_matches(text, matches):
    assert LabelSelector.parse(text).matches(LABELS) is matches


@pytest.mark.parametrize(
    "text", ["app in (", "=x", "app=a=b", "app in x", "app,", "Bad Key=1", "a=b c"]
)
def test_bad_label_selectors_are_400(text):
    with pytest.raises(BadRequest) as err:
        LabelSelector.parse(text)
    assert err.value.code == 400


def test_field_selector_name_and_namespace():
    obj = {"metadata": {"name": "a", "namespace": "ns"}}
    assert FieldSelector.parse("metadata.name=a").matches(obj)
    assert FieldSelector.parse("metadata.name==a,metadata.namespace=ns").matches(obj)
    assert not FieldSelector.parse("metadata.name!=a").matches(obj)
    assert FieldSelector.parse("metadata.name=a").requires_exact("metadata.name") == "a"


def test_unknown_field_selector_message():
    with pytest.raises(BadRequest) as err:
        FieldSelector.parse("spec.x=1")
    assert err.value.message == (
        '"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )
