from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from strongroom.timefmt import rfc3339
from strongroom.users.repository import UserRow


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)
    email: str | None = Field(None, max_length=300)
    role: str | None = Field(None, max_length=64, description="Default: auth.default_role.")
    password: SecretStr = Field(max_length=2048)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=300)
    role: str | None = Field(None, max_length=64)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: SecretStr = Field(max_length=2048)
    new_password: SecretStr = Field(max_length=2048)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: SecretStr = Field(max_length=2048)


class UserOut(BaseModel):
    id: str
    username: str
    email: str | None
    role: str
    disabled: bool
    auth_method: str = Field(description="password, github or none")
    github_login: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, user: UserRow) -> UserOut:
        method = (
            "github"
            if user.github_id is not None
            else ("password" if user.password_hash else "none")
        )
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            role=user.role,
            disabled=user.disabled,
            auth_method=method,
            github_login=user.github_login,
            created_at=rfc3339(user.created_at) or "",
            updated_at=rfc3339(user.updated_at) or "",
        )


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class Done(BaseModel):
    ok: bool = True
    sessions_ended: int = 0


class Unlocked(BaseModel):
    username: str
    was_locked: bool = Field(description="Whether a lock-out was in force until now.")
