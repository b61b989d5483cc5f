"""A page to read the OpenAPI document, drawn from the document itself on the server.

The pages' Content-Security-Policy allows no script from elsewhere, so Swagger UI's and
ReDoc's CDN pages would stay blank: this page needs no script at all.
"""

from flask import current_app, render_template

METHODS = ("get", "post", "put", "patch", "delete")


def _type(schema: dict) -> str:
    """Say a schema's type in a few words: 'string (date)', 'list of Enrolment', ..."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "format" in schema:
        kind = f"{kind} ({schema['format']})"
    if "enum" in schema:
        kind = f"{kind}: one of {', '.join(str(v) for v in schema['enum'] if v is not None)}"
    if schema.get("nullable"):
        kind = f"{kind}, or null"
    return kind


def _limits(schema: dict) -> str:
    parts = []
    for key, label in (
        ("minimum", "at least"),
        ("maximum", "at most"),
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("pattern", "matching {}"),
    ):
        if key in schema:
            parts.append(label.format(schema[key]) if "{}" in label else f"{label} {schema[key]}")
    return "; ".join(parts)


def _fields(schema: dict) -> list[dict]:
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type(field),
            "required": name in required,
            "notes": "; ".join(filter(None, [field.get("description", ""), _limits(field)])),
        }
        for name, field in schema.get("properties", {}).items()
    ]


def _operations(spec: dict) -> list[dict]:
    operations = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            responses = []
            for code, response in operation["responses"].items():
                if "$ref" in response:
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                content = response.get("content", {})
                media, schema = next(iter(content.items()), (None, {}))
                responses.append(
                    {
                        "code": code,
                        "description": response.get("description", ""),
                        "type": f"{_type(schema.get('schema', {}))} ({media})" if media else "",
                    }
                )
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "type": _type(p.get("schema", {})),
                            "required": p.get("required", False),
                            "notes": "; ".join(
                                filter(None, [p.get("description", ""), _limits(p["schema"])])
                            ),
                        }
                        for p in [*shared, *operation.get("parameters", [])]
                    ],
                    "body": _type(body["schema"]) if body else None,
                    "responses": responses,
                }
            )
    return operations


def reference_page():
    """Show the API's operations and schemas, read from the OpenAPI document."""
    spec = current_app.extensions["tracker_api"].spec.to_dict()
    schemas = {name: _fields(schema) for name, schema in spec["components"]["schemas"].items()}
    return render_template(
        "api/reference.html", spec=spec, operations=_operations(spec), schemas=schemas
    )
