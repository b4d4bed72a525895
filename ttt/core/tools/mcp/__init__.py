"""MCP tool servers: each configured Model Context Protocol server's tools, offered like the built-ins.

``servers`` (configuration, tool names, the servers of one engine; no SDK import), ``client``
(one server connection, over the ``mcp`` SDK), ``adapter`` (MCP tools and results as ttt's),
``launch`` (the process that a stdio server runs under). The SDK loads only when a turn offers
MCP tools (``--tools mcp:<server>``) or a command asks about servers.
"""
