"""The OpenAPI document of the prediction server, made for the version being served.

The request schema lists the served version's training columns with their
types, so a client generator, a fuzzer (the tests run schemathesis against
it) or a person reading ``/openapi.json`` sees exactly what ``/predict``
accepts. After a swap to a version with other columns the document changes
with it.
"""

from __future__ import annotations

from typing import Any

from .inputs import FLOAT_MAX
from .predictor import Predictor

ERROR = {
    "type": "object",
    "required": ["error", "type"],
    "properties": {
        "error": {"type": "string", "description": "what went wrong, in one line"},
        "type": {"type": "string", "description": "the kind of error, e.g. schema_mismatch"},
        "problems": {
            "type": "array",
            "items": {"type": "string"},
            "description": "each problem with the input (for 422)",
        },
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document(predictor: Predictor, alias: str | None, *, auth: bool) -> dict[str, Any]:
    """The OpenAPI 3.1 document for serving ``predictor`` (following ``alias``)."""
    version = predictor.version
    columns = predictor.schema.columns
    names = [c.name for c in columns]
    row = {
        "type": "object",
        "properties": {c.name: c.json_schema() for c in columns},
        "required": names,
        "additionalProperties": False,
    }
    by_rows = {
        "type": "object",
        "required": ["rows"],
        "properties": {"rows": {"type": "array", "minItems": 1, "items": row}},
        "additionalProperties": False,
    }
    by_columns = {
        "type": "object",
        "required": ["columns", "data"],
        "properties": {
            "columns": {
                "const": names,
                "description": "the column names; any order is accepted, this one is documented",
            },
            "data": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "array",
                    "prefixItems": [c.json_schema() for c in columns],
                    "items": False,
                    "minItems": len(columns),
                    "maxItems": len(columns),
                },
            },
        },
        "additionalProperties": False,
    }
    label = {
        "type": ["string", "number", "boolean"],
        "minimum": -FLOAT_MAX,
        "maximum": FLOAT_MAX,
        "description": "the true outcome, in the terms of the predictions",
    }
    predicted: dict[str, Any] = {"type": "array", "items": {}}
    response: dict[str, Any] = {
        "type": "object",
        "required": ["model", "version", "request_id", "predictions"],
        "properties": {
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "request_id": {"type": "string"},
            "predictions": predicted,
            "probabilities": {
                "type": "array",
                "items": {"type": "array", "items": {"type": ["number", "null"]}},
            },
            "classes": {"type": "array"},
        },
    }
    common = {"401": _error("no bearer token, or not the server's")} if auth else {}
    ref = version.model + (f"@{alias}" if alias else f":{version.version}")
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": f"mlops-nb prediction server: {ref}",
            "version": str(version.version),
            "description": (
                f"Serves {ref} (now version {version.version}, {version.estimator}). "
                "Every answered request is written to the store's prediction log."
            ),
        },
        "paths": {
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "the model, alias and version served now",
                    "responses": {
                        "200": {
                            "description": "serving",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Health"}
                                }
                            },
                        },
                        "503": _error("the model is not loaded yet"),
                        **common,
                    },
                }
            },
            "/predict": {
                "post": {
                    "operationId": "predict",
                    "summary": "predict rows with the version served now",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/RowsRequest"},
                                        {"$ref": "#/components/schemas/ColumnsRequest"},
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "the predictions, and which version made them",
                            "headers": {
                                "X-Model-Version": {
                                    "schema": {"type": "string"},
                                    "description": "the version that answered",
                                },
                                "X-Request-ID": {"schema": {"type": "string"}},
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Predictions"}
                                }
                            },
                            "links": {
                                "feedback": {
                                    "operationId": "giveFeedback",
                                    "description": "report the outcome of this request",
                                    "requestBody": {
                                        "request_id": "$response.body#/request_id",
                                        "value": 1.0,
                                    },
                                }
                            },
                        },
                        "400": _error("the body is not JSON"),
                        "413": _error("the body is larger than the server accepts"),
                        "422": _error("the rows do not fit the model's schema"),
                        "503": _error("the model is not loaded yet"),
                        **common,
                    },
                }
            },
            "/feedback": {
                "post": {
                    "operationId": "giveFeedback",
                    "summary": "a label or a business value for a logged request",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Feedback"}
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "accepted; written with the next log batch",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["request_id", "accepted"],
                                        "properties": {
                                            "request_id": {"type": "string"},
                                            "accepted": {"type": "boolean"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": _error("the body is not JSON"),
                        "404": _error("no such request in this model's prediction log"),
                        "413": _error("the body is larger than the server accepts"),
                        "422": _error("the body is not {request_id, label?, value?}"),
                        **common,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "this document",
                    "responses": {
                        "200": {
                            "description": "the OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **common,
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": ERROR,
                "Health": {
                    "type": "object",
                    "required": ["status", "model", "alias", "version"],
                    "properties": {
                        "status": {"const": "ok"},
                        "model": {"type": "string"},
                        "alias": {"type": ["string", "null"]},
                        "version": {"type": "integer"},
                        "instance": {"type": "string"},
                    },
                },
                "RowsRequest": by_rows,
                "ColumnsRequest": by_columns,
                "Predictions": response,
                "Feedback": {
                    "type": "object",
                    "required": ["request_id"],
                    "anyOf": [{"required": ["label"]}, {"required": ["value"]}],
                    "properties": {
                        "request_id": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 64,
                            "description": "as /predict returned it",
                        },
                        "label": label,
                        "value": {
                            "type": "number",
                            "minimum": -FLOAT_MAX,
                            "maximum": FLOAT_MAX,
                            "description": "a business outcome, such as the amount of a sale",
                        },
                    },
                    "additionalProperties": False,
                },
            }
        },
    }
    if auth:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    return doc
