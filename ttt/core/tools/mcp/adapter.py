"""MCP tools as ttt ``Tool``s, and MCP results as ``ToolOutput``.

A tool keeps the description and input schema its server gives; its name is namespaced
(``mcp__<server>__<tool>``). Results map onto the tool-result parts: text blocks and text
resources become text, images become ``ImagePart``s kept by reference (a file named by its hash
in the data dir, as attachments are), anything else a note, and ``isError`` an error result.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import TYPE_CHECKING, Any

import mcp_types as types

from ttt.core.attachments import image_type
from ttt.core.config import paths
from ttt.core.config_sections import AttachmentsConfig
from ttt.core.tools.base import Tool, ToolOutput
from ttt.core.tools.mcp.servers import tool_name
from ttt.core.types import ImagePart

if TYPE_CHECKING:
    from ttt.core.tools.mcp.client import McpServer

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def as_tools(server: McpServer, listed: list[types.Tool]) -> list[Tool]:
    return [
        _tool(server, item.name, item.description or item.title or item.name, item.input_schema)
        for item in listed
    ]


def unavailable_tool(server: McpServer, name: str) -> Tool:
    """A tool named in a selector whose server could not start: each call tries to start it
    again and, failing, answers with the reason."""
    return _tool(server, name, f"{name} (MCP server '{server.name}', not running)", {"type": "object"})


def _tool(server: McpServer, name: str, description: str, schema: dict[str, Any]) -> Tool:
    async def call(**arguments: Any) -> ToolOutput:
        return to_output(await server.call(name, arguments))

    parameters = dict(schema) if isinstance(schema, dict) else {}
    parameters.setdefault("type", "object")
    if "properties" not in parameters:  # no declared arguments: pass on whatever the model sends
        parameters.setdefault("additionalProperties", True)
    return Tool(
        name=tool_name(server.name, name),
        description=description,
        parameters=parameters,
        func=call,
        category=f"mcp:{server.name}",
        permission=server.config.permission,
        is_async=True,
        timeout=server.config.timeout + 1.0,  # the server's own timeout speaks first, with more to say
        source=f"mcp:{server.name}",
    )


def to_output(result: types.CallToolResult) -> ToolOutput:
    texts: list[str] = []
    images: list[ImagePart] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            texts.append(block.text)
        elif isinstance(block, types.ImageContent):
            texts.append(_image(block.data, block.mime_type, "image", images))
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, types.TextResourceContents):
                texts.append(f"[resource {resource.uri}]\n{resource.text}")
            elif (resource.mime_type or "").startswith("image/"):
                texts.append(
                    _image(resource.blob, resource.mime_type or "", f"resource {resource.uri}", images)
                )
            else:
                size = len(resource.blob.rstrip("=")) * 3 // 4  # decoded size, without decoding
                texts.append(
                    f"[resource {resource.uri}: {resource.mime_type or 'binary'}, {size} bytes, not shown]"
                )
        elif isinstance(block, types.ResourceLink):
            texts.append(f"[resource link: {block.name} {block.uri}]")
        else:
            texts.append(f"[{getattr(block, 'type', 'content')} {getattr(block, 'mime_type', '')} not shown]")
    if not result.content and result.structured_content is not None:
        texts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return ToolOutput("\n".join(texts), images, result.is_error)


def _image(data: str, mime_type: str, label: str, into: list[ImagePart]) -> str:
    """Keep one image (a file named by its hash); returns the text that stands for it."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return f"[{label}: invalid base64 data, not shown]"
    kind = image_type(raw[:16])
    limit = AttachmentsConfig().max_image_bytes
    if kind is None or len(raw) > limit:
        reason = "unsupported image type" if kind is None else "too large"
        return f"[{label}: {mime_type or 'unknown type'}, {len(raw)} bytes, {reason}, not shown]"
    digest = hashlib.sha256(raw).hexdigest()
    folder = paths().data_dir / "tool-images"
    file = folder / f"{digest}.{_EXTENSIONS[kind]}"
    if not file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        file.write_bytes(raw)
    into.append(
        ImagePart(media_type=kind, data=base64.b64encode(raw).decode("ascii"), path=str(file), sha256=digest)
    )
    return f"[{label}: {kind}, {len(raw)} bytes, attached]"
