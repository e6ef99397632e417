#!/usr/bin/env python3
"""Checks generated/openapi.json with independent tools (CI runs it; needs `pip install openapi-spec-validator`).

1. openapi-spec-validator: the document is valid OpenAPI 3.1 (its JSON Schema and semantic checks).
2. jsonschema (Draft 2020-12, the dialect of OpenAPI 3.1): every official example, request and response, every
   query parameter example and every webhook's official callback samples validate against the schema the
   document gives them (a webhook without a sample fails).
Exits non-zero with a list of failures; prints one closing line with the counts.
"""
import json
import sys
from pathlib import Path

import jsonschema
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "generated/openapi.json")
doc = json.loads(path.read_text(encoding="utf-8"))
validate(doc)
print(f"{path}: valid OpenAPI {doc['openapi']} (openapi-spec-validator)")

ROOT = "urn:openapi"
registry = Registry().with_resource(ROOT, Resource.from_contents(doc, default_specification=DRAFT202012))


def check(schema, instance):
    """Errors of `instance` against `schema`, whose `$ref`s point into the document."""
    text = json.dumps(schema).replace('"#/components/', '"' + ROOT + "#/components/")
    wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [json.loads(text)]}
    v = jsonschema.Draft202012Validator(wrapped, registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:160]}" for e in v.iter_errors(instance)]


failures, checked, operations = [], 0, 0
for p, item in doc["paths"].items():
    for method, op in item.items():
        operations += 1
        where = f"{method.upper()} {p}"
        for param in op.get("parameters", []):
            if "example" in param:
                checked += 1
                failures += [f"{where} query {param['name']}: {m}" for m in check(param["schema"], param["example"])]
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body and "example" in body:
            checked += 1
            failures += [f"{where} request: {m}" for m in check(body["schema"], body["example"])]
        resp = op["responses"]["200"]["content"]["application/json"]
        if "example" in resp:
            checked += 1
            failures += [f"{where} response: {m}" for m in check(resp["schema"], resp["example"])]

webhooks = 0
for name, item in doc.get("webhooks", {}).items():
    op = item["post"]
    webhooks += 1
    media = op["requestBody"]["content"]["application/xml"]
    samples = media.get("examples", {})
    if not samples:
        failures.append(f"webhook {name}: no official sample")
    for env, ex in samples.items():
        checked += 1
        failures += [f"webhook {name} {env} sample: {m}" for m in check(media["schema"], ex["value"])]

for f in failures:
    print("FAIL", f)
bad = len({f.split(": ")[0] for f in failures})
print(f"openapi examples: {checked - bad} passed, {bad} failed ({operations} operations, {webhooks} webhooks)")
sys.exit(1 if failures else 0)
