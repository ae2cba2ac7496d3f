"""A whole session through pytest-lsp: every response is decoded into lsprotocol's official types
(a malformed one fails the test), and the document the server holds is checked after edits."""

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

URI = "file:///pytest/shapes.swift"
TEXT = "struct Square {\n    var side: Int\n    func area() -> Int {}\n}\n// \U0001F600 done\n"


def pos(line, character):
    return types.Position(line=line, character=character)


def rng(start, end):
    return types.Range(start=pos(*start), end=pos(*end))


def utf16_lines(text):
    """Line lengths in UTF-16 code units, as LSP positions count them."""
    return [len(line.encode("utf-16-le")) // 2 for line in text.split("\n")]


def apply(text, start, end, new_text):
    """Applies one edit with UTF-16 positions, as an editor does."""
    lines = text.split("\n")

    def offset(line, character):
        before = "\n".join(lines[:line]) + ("\n" if line else "")
        units = lines[line].encode("utf-16-le")[: 2 * character].decode("utf-16-le")
        return len(before) + len(units)

    return text[: offset(*start)] + new_text + text[offset(*end):]


def open_document(client, text=TEXT, version=1):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=URI, language_id="swift", version=version, text=text)
        )
    )


def change(client, version, start, end, text):
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=rng(start, end), text=text)],
        )
    )


async def server_line_lengths(client, count):
    """The server's line lengths: a position past a line's end clamps to it, and the item's range says where."""
    lengths = []
    for line in range(count):
        result = await client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=pos(line, 10_000))
        )
        assert isinstance(result, types.CompletionList)
        if not result.items:
            lengths.append(None)
            continue
        edit = result.items[0].text_edit
        assert isinstance(edit, types.TextEdit)
        assert edit.range.end.line == line
        lengths.append(edit.range.end.character)
    return lengths


async def test_request_for_a_closed_document_is_invalid_params(client: LanguageClient):
    with pytest.raises(Exception, match="-32602|not open"):
        await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri="file:///not-open.swift"),
                range=rng((0, 0), (0, 0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )


async def test_whole_session(client: LanguageClient):
    text = TEXT
    open_document(client, text)
    edits = [
        ((1, 17), (1, 17), "\n    var name: String"),
        ((5, 3), (5, 5), "\U0001F389"),
        ((0, 7), (0, 13), "Box"),
        ((3, 24), (3, 24), "side * side"),
    ]
    for version, (start, end, new_text) in enumerate(edits, start=2):
        text = apply(text, start, end, new_text)
        change(client, version, start, end, new_text)
    assert text == "struct Box {\n    var side: Int\n    var name: String\n    func area() -> Int {side * side}\n}\n// \U0001F389 done\n"

    inline = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=pos(2, 20),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
    )
    assert isinstance(inline, types.InlineCompletionList)
    # The model (trained 100 steps with a fixed seed, greedy decoding) is deterministic and says something here.
    assert inline.items
    for item in inline.items:
        assert isinstance(item.insert_text, str) and item.insert_text
        # Invalid UTF-8 from the model ends the completion instead of showing replacement characters.
        assert "\ufffd" not in item.insert_text
        assert item.range == rng((2, 20), (2, 20))

    invoked = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=pos(2, 20),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        )
    )
    assert isinstance(invoked, types.InlineCompletionList)
    assert len({item.insert_text for item in invoked.items}) == len(invoked.items) <= 3

    completion = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=pos(2, 20))
    )
    assert isinstance(completion, types.CompletionList) and completion.is_incomplete
    assert completion.items
    for item in completion.items:
        assert isinstance(item.text_edit, types.TextEdit)
        # Replaces the word being typed ("String") with that word plus the completion.
        assert item.text_edit.range == rng((2, 14), (2, 20))
        assert item.text_edit.new_text.startswith("String")

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=rng((3, 24), (3, 35)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert actions is not None
    titles = [action.title for action in actions]
    assert titles == ["Fill in selection", "Add documentation comment", "Continue from here"]
    assert all(isinstance(a, types.CodeAction) and a.edit is None and a.kind == types.CodeActionKind.RefactorRewrite for a in actions)

    # Resolve until one yields an edit (a random model may produce nothing usable for some: -32803).
    applied = None
    failures = []
    for action in actions:
        try:
            resolved = await client.code_action_resolve_async(action)
        except Exception as error:  # the client raises the server's ResponseError
            failures.append(str(error))
            assert "-32803" in str(error) or "RequestFailed" in str(error) or "produced" in str(error), error
            continue
        assert isinstance(resolved, types.CodeAction) and resolved.title == action.title
        assert resolved.edit is not None and resolved.edit.changes is not None
        assert list(resolved.edit.changes) == [URI] and len(resolved.edit.changes[URI]) == 1
        applied = resolved.edit.changes[URI][0]
        assert "\ufffd" not in applied.new_text
        break
    assert applied is not None, failures

    # Apply the WorkspaceEdit as the editor does, tell the server, and compare both copies.
    start = (applied.range.start.line, applied.range.start.character)
    end = (applied.range.end.line, applied.range.end.character)
    text = apply(text, start, end, applied.new_text)
    change(client, 10, start, end, applied.new_text)
    expected = utf16_lines(text)
    server = await server_line_lengths(client, len(expected))
    assert [s for s in server if s is not None] == [e for s, e in zip(server, expected) if s is not None]
    assert sum(s is not None for s in server) >= len(expected) // 2, server

    # Work-done progress was created, began and ended for the resolves (decoded into the official types).
    assert client.progress_reports
    for reports in client.progress_reports.values():
        assert isinstance(reports[0], types.WorkDoneProgressBegin)
        assert isinstance(reports[-1], types.WorkDoneProgressEnd)


def instruct_params(instruction, start=(0, 0), end=(2, 0), version=1):
    return types.ExecuteCommandParams(
        command="understudy.instruct",
        arguments=[{"uri": URI, "version": version, "instruction": instruction,
                    "range": {"start": {"line": start[0], "character": start[1]},
                              "end": {"line": end[0], "character": end[1]}}}],
    )


async def test_instruct_is_refused_clearly_without_a_chat_template(client: LanguageClient):
    """Edit with instruction: the tiny student has no chat template, so the command is not offered,
    experimental.instruct says why, bad input is -32602 / -32801 and asking anyway is -32803 with the reason."""
    offered = client.initialize_result.capabilities
    assert "understudy.instruct" not in offered.execute_command_provider.commands
    assert offered.experimental["instruct"]["available"] is False
    assert "no chat template" in offered.experimental["instruct"]["reason"]
    open_document(client, TEXT)
    with pytest.raises(Exception, match="instruction: empty"):
        await client.workspace_execute_command_async(instruct_params("   "))
    with pytest.raises(Exception, match="at most 4096 bytes"):
        await client.workspace_execute_command_async(instruct_params("x" * (1 << 20)))
    with pytest.raises(Exception, match="outside the document"):
        await client.workspace_execute_command_async(instruct_params("add error handling", end=(40, 0)))
    with pytest.raises(Exception, match="changed \\(version 7"):
        await client.workspace_execute_command_async(instruct_params("add error handling", version=7))
    with pytest.raises(Exception, match="no chat template|workspace/applyEdit"):
        await client.workspace_execute_command_async(instruct_params("add error handling"))
