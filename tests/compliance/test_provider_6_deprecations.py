"""Attributes that the aws provider 6 deprecates are not read anywhere in terraform/. The schema
check (AWS_PROVIDER_6_SCHEMA) cannot see them: the schema it derives has no deprecations, and it
checks arguments, not references. Provider 6 upgrade guide:
registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/version-6-upgrade"""
from __future__ import annotations

import re

import pytest

from tests.conftest import PROJECT_ROOT

# data source -> attribute deprecated in provider 6, and what to use instead
DEPRECATED = {"aws_region": ("name", "pass the region in as a variable (or read `region`)")}


def references(text: str, data_source: str, attribute: str) -> list[str]:
    return re.findall(rf"data\.{data_source}\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?\.{attribute}\b", text)


@pytest.mark.parametrize("data_source", sorted(DEPRECATED))
def test_no_deprecated_attribute_is_read(data_source):
    attribute, instead = DEPRECATED[data_source]
    found = {str(path.relative_to(PROJECT_ROOT)): references(path.read_text(), data_source, attribute)
             for path in (PROJECT_ROOT / "terraform").rglob("*.tf") if ".terraform" not in path.parts}
    assert not {path: hits for path, hits in found.items() if hits}, f"data.{data_source}.*.{attribute} is deprecated: {instead}"


def test_the_reference_finder_sees_a_deprecated_read():
    assert references('az = "${data.aws_region.current.name}a"', "aws_region", "name") == ["data.aws_region.current.name"]
    assert references("r = data.aws_region.current.region", "aws_region", "name") == []
