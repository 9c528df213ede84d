"""Bodies of the GitHub login routes."""

from __future__ import annotations

from pydantic import Field, SecretStr

from strongroom.auth.schemas import SessionOptions


class GitHubLoginRequest(SessionOptions):
    """A GitHub token (classic with read:org, fine-grained, or OAuth) and the session options
    of the token endpoint."""

    token: SecretStr = Field(
        max_length=512, description="The caller's GitHub token; used once, never stored."
    )
