"""Pydantic models of the native YAML format: type checking and the JSON Schema (`orc schema`).

They describe the file; ``spec.loader`` turns a validated file into a runtime ``Pipeline``.
"""
from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator

Number = Union[StrictInt, StrictFloat]
Text = StrictStr


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RetrySpec(_Strict):
    """Retry policy: total attempts, delays and which failures to retry."""
    attempts: StrictInt = Field(1, ge=1, description="total tries (1 = no retry)")
    backoff: Union[Literal["none", "fixed", "linear", "exponential"], list[Number]] = "exponential"
    delay: Number = Field(1.0, ge=0, description="base delay in seconds")
    max_delay: Number = Field(60.0, ge=0)
    jitter: Number = Field(0.0, ge=0, le=1, description="+- fraction of each delay")
    retry_on: Union[Text, list[Text]] = Field(
        "any", description="any | timeout | provider | rate_limit | server | connection | exception class names")


class CheckSpec(_Strict):
    """Quality gate. A failed check re-runs the step with the failure fed back."""
    expr: Text | None = Field(None, description="expression over `output` that must be true")
    python: Text | None = Field(None, description="module:function(output) -> bool or failure text")
    judge: Text | None = Field(None, description="question to a model; it answers PASS or FAIL + reasons")
    model: Union[Text, list[Text], None] = None
    task: Text | None = None
    max_attempts: StrictInt = Field(3, ge=1)
    message: Text | None = None


class WriteSpec(_Strict):
    path: Text = Field(description="file path under the run's output directory")
    content: Any = Field("", description="text, or data written as JSON/YAML")
    format: Literal["auto", "text", "json", "yaml"] = "auto"


class SchemaOutput(_Strict):
    schema_: dict = Field(alias="schema", description="JSON Schema the output must match")


class InputSpec(_Strict):
    type: Literal["string", "integer", "number", "boolean", "array", "object", "any"] = "any"
    default: Any = None
    required: StrictBool | None = None
    description: Text | None = None
    choices: list[Any] | None = None


class StepSpec(_Strict):
    """A step: an `id`, exactly one action key, and common keys."""
    id: Text = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: Text | None = None
    description: Text | None = None
    # actions (exactly one)
    prompt: Text | None = Field(None, description="LLM prompt (template)")
    python: Text | None = Field(None, description="module:function called with `params` as keyword arguments")
    code: Text | None = Field(None, description="inline Python; assign the result to `output`")
    sql: Text | None = Field(None, description="DuckDB SQL (template); bind values with params: $name")
    approval: Text | None = Field(None, description="question shown to the reviewer")
    write: WriteSpec | None = None
    pipeline: Union[Text, dict, None] = Field(
        None, description="sub-pipeline: a path, a built-in name, or an inline pipeline (a mapping with steps)")
    # common keys
    needs: Union[Text, list[Text]] = []
    when: Union[Text, StrictBool, None] = Field(None, description="condition; the step is skipped when false")
    for_each: Union[Text, list[Any], None] = Field(None, description="fan out over a list; item/index in scope")
    max_parallel: StrictInt | None = Field(None, ge=1)
    while_: Union[Text, StrictBool, None] = Field(
        None, alias="while", description="repeat the step while this is true (checked before each "
                                         "iteration; iteration/previous in scope); output: the list of iterations")
    max_iterations: Union[StrictInt, Text, None] = Field(None, description="cap for `while` (default 10)")
    retry: Union[StrictInt, RetrySpec, None] = None
    timeout: Number | None = Field(None, gt=0, description="seconds per attempt")
    cache: StrictBool | None = None
    check: Union[Text, CheckSpec, None] = None
    model: Union[Text, list[Text], None] = Field(None, description="provider:model, an alias, or a fallback list")
    task: Text | None = Field(None, description="task type, routed through `routing`")
    system: Text | None = None
    output: Union[Literal["text", "json", "markdown"], SchemaOutput, Text, None] = None
    params: dict[str, Any] | None = None
    temperature: Number | None = None
    max_tokens: StrictInt | None = Field(None, ge=1)
    show: Any = Field(None, description="approval: what the reviewer sees (template)")
    revise: Text | None = Field(None, description="approval: the step regenerated on 'request changes'")
    max_revisions: StrictInt | None = Field(None, ge=1)
    policy: Literal["ask", "auto", "reject", "defer", "fail"] | None = None
    on_error: Literal["fail", "continue"] = "fail"
    thread: StrictBool | None = Field(None, description="run a blocking python step in a worker thread")

    @model_validator(mode="before")
    @classmethod
    def _one_action(cls, data):
        if isinstance(data, dict):
            actions = [k for k in ACTION_KEYS if data.get(k) is not None]
            if len(actions) > 1:
                raise ValueError("has several actions: " + ", ".join(actions) + " (keep exactly one)")
        return data


ACTION_KEYS = ("prompt", "python", "code", "sql", "approval", "write", "pipeline")


class DefaultsSpec(_Strict):
    timeout: Number | None = Field(None, gt=0)
    retry: Union[StrictInt, RetrySpec, None] = None
    temperature: Number | None = None
    max_tokens: StrictInt | None = Field(None, ge=1)
    cache: StrictBool | None = None
    model: Union[Text, list[Text], None] = None
    system: Text | None = None


class BudgetSpec(_Strict):
    max_cost_usd: Number | None = Field(None, gt=0)
    max_tokens: StrictInt | None = Field(None, gt=0)


class PipelineSpec(_Strict):
    """An orchestrator-nb pipeline."""
    name: Text = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    description: Text | None = None
    version: Union[Text, Number, None] = None
    inputs: dict[str, Union[InputSpec, Any]] = {}
    models: dict[str, Union[Text, list[Text]]] = {}
    routing: dict[str, Text] = {}
    defaults: DefaultsSpec = DefaultsSpec()
    budget: BudgetSpec | None = None
    prices: dict[str, dict[str, Number]] = Field(
        {}, description="per-model prices in USD per million tokens: {model: {input: x, output: y}}")
    steps: list[StepSpec] = Field(min_length=1)


def json_schema() -> dict:
    schema = PipelineSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "orchestrator-nb pipeline"
    return schema
