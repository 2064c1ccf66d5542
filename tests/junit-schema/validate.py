#!/usr/bin/env python3
"""Validate junit.xml files against junit-10.xsd, the JUnit schema Jenkins' xunit plugin
and pytest's own tests use (copied, MIT licence kept, from pytest's source distribution:
testing/example_scripts/junit-10.xsd).

Usage: validate.py JUNIT.xml...  (needs the `xmlschema` package from PyPI)

One allowance: quick-junit always writes a `skipped` count on the root `<testsuites>`
(nextest's extension, read by Jenkins and GitLab); junit-10.xsd has it on `<testsuite>`
only, so it is removed from the root before validating. Nothing else is.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import xmlschema

SCHEMA = Path(__file__).with_name("junit-10.xsd")


def main(paths):
    schema = xmlschema.XMLSchema(str(SCHEMA))
    problems = 0
    for path in paths:
        root = ET.parse(path).getroot()
        if root.tag == "testsuites":
            root.attrib.pop("skipped", None)
        errors = list(schema.iter_errors(root))
        for error in errors:
            print(f"{path}: {error.path}: {error.reason}")
        problems += len(errors)
        if not errors:
            print(f"{path}: valid against {SCHEMA.name}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
