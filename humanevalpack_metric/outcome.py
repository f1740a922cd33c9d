"""Verdicts of one program run: a structured status plus the reference metric's result string."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(str, enum.Enum):
    """Why a program passed or not. Timeouts and compile errors are distinct from wrong answers."""

    PASSED = "passed"
    FAILED = "failed"  # ran, tests failed (wrong answer, runtime error, crash)
    COMPILE_ERROR = "compile_error"
    TIMEOUT = "timeout"
    ERROR = "error"  # our side failed (sandbox or toolchain problem), not the program's fault


@dataclass
class Outcome:
    """What happened to one program.

    ``result`` reproduces the reference metric's strings (``passed``, ``failed: ...``,
    ``timed out``) so existing harness code keeps working; ``status`` is the structured verdict.
    """

    status: Status
    detail: str = ""
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def result(self) -> str:
        if self.status is Status.PASSED:
            return "passed"
        if self.status is Status.TIMEOUT:
            return "timed out"
        if self.status is Status.COMPILE_ERROR:
            return f"failed: compilation error: {self.detail}"
        return f"failed: {self.detail}"

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "result": self.result,
            "status": self.status.value,
            "duration": round(self.duration, 4),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Outcome":
        result = data.get("result", "")
        detail = result.split(": ", 1)[1] if ": " in result else ""
        status = Status(data["status"])
        if status is Status.COMPILE_ERROR and detail.startswith("compilation error: "):
            detail = detail[len("compilation error: ") :]
        return cls(status=status, detail=detail, duration=data.get("duration", 0.0))
