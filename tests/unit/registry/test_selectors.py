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


# cases below mirror apimachinery pkg/labels/selector_test.go (TestSelectorParse,
# TestSelectorMatches, TestLexer, TestSetSelectorParser)
@pytest.mark.parametrize(
    "text",
    ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"],
)
def test_upstream_good_selectors_parse(text):
    LabelSelector.parse(text)


@pytest.mark.parametrize("text", ["x=a||y=b", "x==a==b", "!x=a", "x<a", "x>-5"])
def test_upstream_bad_selectors_are_400(text):
    with pytest.raises(BadRequest):
        LabelSelector.parse(text)


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("", {"x": "y"}, True),
        ("x=y", {"x": "y"}, True),
        ("x=y,z=w", {"x": "y", "z": "w"}, True),
        ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
        ("notin=in", {"notin": "in"}, True),
        ("x", {"x": "z"}, True),
        ("!x", {"y": "z"}, True),
        ("x>1", {"x": "2"}, True),
        ("x<1", {"x": "0"}, True),
        ("x=z", {}, False),
        ("x=y", {"x": "z"}, False),
        ("x=y,z=w", {"x": "w", "z": "w"}, False),
        ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
        ("x", {"y": "z"}, False),
        ("!x", {"x": "z"}, False),
        ("x>1", {"x": "0"}, False),
        ("x<1", {"x": "2"}, False),
        # a label that is not an integer, or is missing, never matches gt/lt
        ("x>1", {"x": "abc"}, False),
        ("x<1", {}, False),
        ("x<5", {"x": "-4"}, True),
        ("x>1", {"x": "99999999999999999999"}, False),
    ],
)
def test_upstream_selector_matches(text, labels, matches):
    assert LabelSelector.parse(text).matches(labels) is matches


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        ("\rx", [("x", "exists", ())]),
        ("this-is-a-dns.domain.com/key-with-dash", [
            ("this-is-a-dns.domain.com/key-with-dash", "exists", ())]),
        ("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", [
            ("0.1.2.domain/99", "notin", ("10.10.100.1", "tick.tack.clock"))]),
        ("foo  in\t (abc)", [("foo", "in", ("abc",))]),
        ("x notin\n (abc)", [("x", "notin", ("abc",))]),
        ("x in (abc,)", [("x", "in", ("", "abc"))]),
        ("x in (abc,abc)", [("x", "in", ("abc",))]),
        ("x in ()", [("x", "in", ("",))]),
        ("x in (a,,a,,a,,a,,)", [("x", "in", ("", "a"))]),
        ("x notin (abc,,def),bar,z in (),w", [
            ("bar", "exists", ()), ("w", "exists", ()), ("x", "notin", ("", "abc", "def")),
            ("z", "in", ("",))]),
        ("x>1", [("x", "gt", ("1",))]),
        ("x<7", [("x", "lt", ("7",))]),
        ("x=a,y!=b", [("x", "=", ("a",)), ("y", "!=", ("b",))]),
        ("x notin (, a)", [("x", "notin", ("", "a"))]),
        ("a ", [("a", "exists", ())]),
        ("a in (x,y,notin, z,in)", [("a", "in", ("in", "notin", "x", "y", "z"))]),
    ],
)
def test_upstream_set_selector_parser(text, requirements):
    parsed = LabelSelector.parse(text).requirements
    assert [(r.key, r.operator, r.values) for r in parsed] == requirements


@pytest.mark.parametrize(
    "text",
    ["x=a||y=b", "x,,y", ",x,y", "x nott in (y)", "a in (xyz),", "a in (xyz)b notin ()",
     "a in (xyz abc)", "a notin(", "a (", "("],
)
def test_upstream_set_selector_parser_errors(text):
    with pytest.raises(BadRequest):
        LabelSelector.parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
                "operators, the value must be an integer"),
        ("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' "
               "operators, the value must be an integer"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, =, "
                          "==, !=, gt, lt"),
        ("a,", "found '', expected: identifier after ','"),
    ],
)
def test_upstream_parse_messages(text, message):
    with pytest.raises(BadRequest) as err:
        LabelSelector.parse(text)
    assert err.value.message == message


def test_bad_label_key_message_is_upstreams():
    with pytest.raises(BadRequest) as err:
        LabelSelector.parse("a$b=1")
    assert err.value.message.startswith(
        'unable to parse requirement: <nil>: Invalid value: "a$b": name part must consist of '
        "alphanumeric characters")


def test_field_selector_escapes_and_sorted_exact_match():
    obj = {"metadata": {"name": "a,b=c"}}
    sel = FieldSelector.parse(r"metadata.name=a\,b\=c")
    assert sel.matches(obj)
    assert FieldSelector.parse("metadata.name=b,metadata.name=a").requires_exact(
        "metadata.name") == "a"
    with pytest.raises(BadRequest) as err:
        FieldSelector.parse("metadata.name=a=b")
    assert err.value.message == "invalid field selector: unescaped character in value: 61"
