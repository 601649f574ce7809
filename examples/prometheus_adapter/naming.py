"""A rule's association and naming: which labels name which Kubernetes objects, and what
a series is called in the API (`name.matches` / `name.as`, with Go's `$1`/`${1}` expansion)."""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC

from examples.prometheus_adapter.config import Rule
from examples.prometheus_adapter.mapper import ResourceMapper
from k8s_aggapi.errors import GroupResource

NAMESPACES = GroupResource("", "namespaces")
ROOT_SCOPED = frozenset({NAMESPACES, GroupResource("", "nodes"),
                         GroupResource("", "persistentvolumes")})
_EXPAND = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+)|(\$))")


def expand(template: str, match: re.Match[str]) -> str:
    """Go's Regexp.ExpandString: `$name` takes the longest run of word characters, a missing
    or unknown group expands to nothing, `$$` is a dollar."""
    def one(m: re.Match[str]) -> str:
        if m.group(3):
            return "$"
        name = m.group(1) or m.group(2)
        try:
            value = match.group(int(name)) if name.isdigit() else match.group(name)
        except IndexError:  # no such group
            return ""
        return value or ""

    return _EXPAND.sub(one, template)


class Namer:
    """One rule's conversions, with the cluster's kinds from `mapper`."""

    def __init__(self, rule: Rule, mapper: ResourceMapper) -> None:
        self.rule, self.mapper = rule, mapper
        self.label_to_resource: dict[str, GroupResource] = {}
        self.unmapped: dict[str, str] = {}  # override label -> why it maps to nothing
        for label, (group, resource) in rule.resources.overrides.items():
            found = mapper.normalize(group, resource)
            if found is None:
                self.unmapped[label] = f"no resource {resource!r} in group {group!r}"
                gr = GroupResource(group, resource)
            else:
                gr = found.group_resource
            self.label_to_resource[label] = gr
        self._template_regex = None
        if rule.resources.template is not None:
            pattern = rule.resources.template.render(
                {"Group": "\0G\0", "Resource": "\0R\0"})
            pattern = re.escape(pattern).replace("\0G\0", "(?P<group>.+?)").replace(
                "\0R\0", "(?P<resource>.+?)")
            self._template_regex = re.compile(f"^{pattern}$")

    def filter(self, name: str) -> bool:
        return all(f.matches(name) for f in self.rule.series_filters)

    def metric_name(self, series_name: str) -> str | None:
        match = self.rule.name_matches.search(series_name)
        return None if match is None else expand(self.rule.name_as, match)

    def resources_for(self, labels: MappingABC[str, str]) -> list[GroupResource]:
        found = []
        for label in labels:
            if label in self.label_to_resource:
                found.append(self.label_to_resource[label])
            elif self._template_regex and (m := self._template_regex.match(label)):
                group = (m.groupdict().get("group") or "").replace("_", ".")
                mapping = self.mapper.normalize(group, m.group("resource"))
                if mapping is not None:
                    self.label_to_resource[label] = mapping.group_resource
                    found.append(mapping.group_resource)
        return found

    def label_for(self, gr: GroupResource) -> str | None:
        for label, mapped in self.label_to_resource.items():
            if mapped == gr:
                return label
        template = self.rule.resources.template
        if template is None:
            return None
        mapping = self.mapper.get(gr)
        singular = mapping.singular if mapping else gr.resource
        group = re.sub(r"[.-]", "_", gr.group)
        label = template.render({"Group": group, "Resource": singular})
        self.label_to_resource[label] = gr
        return label
