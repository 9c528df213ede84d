"""`strongroom completion bash|zsh|fish`: the shell completion script."""

from __future__ import annotations

import click


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL. Bash: add
    `eval "$(strongroom completion bash)"` to ~/.bashrc (zsh: ~/.zshrc; fish:
    `strongroom completion fish > ~/.config/fish/completions/strongroom.fish`)."""
    from click.shell_completion import get_completion_class

    from strongroom_client.cli.app import cli

    shell_class = get_completion_class(shell)
    assert shell_class is not None
    script = shell_class(cli, {}, "strongroom", "_STRONGROOM_COMPLETE").source()
    click.echo(script)
