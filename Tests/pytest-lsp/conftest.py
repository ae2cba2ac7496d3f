"""Starts the built `understudy serve` under pytest-lsp's client.

UNDERSTUDY_BINARY names the executable (default: .build/debug/understudy) and UNDERSTUDY_MODEL a
GGUF model (required: scripts/pytest-lsp.sh generates a tiny one).
"""

import os
import pathlib
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("UNDERSTUDY_BINARY", str(ROOT / ".build" / "debug" / "understudy"))
MODEL = os.environ.get("UNDERSTUDY_MODEL")

if not MODEL:
    sys.exit("UNDERSTUDY_MODEL must name a GGUF model (scripts/pytest-lsp.sh makes one)")

# Short generations and generous budgets: debug builds on shared cores are slow.
SETTINGS = {"maxTokens": 12, "contextTokens": 256, "timeBudgetMs": 20000, "threads": 1}


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[BINARY, "serve", "--model", MODEL, "--log-level", "info"]),
)
async def client(lsp_client: LanguageClient):
    # Kept for tests that read the server's capabilities.
    lsp_client.initialize_result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True),
                # Resolves code actions' edits (as VS Code and Neovim do); the command path for
                # clients that cannot is tested with Emacs Eglot 1.9 and in the Swift tests.
                text_document=types.TextDocumentClientCapabilities(
                    code_action=types.CodeActionClientCapabilities(
                        resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                    ),
                ),
            ),
            initialization_options=SETTINGS,
        )
    )
    yield
    await lsp_client.shutdown_session()
