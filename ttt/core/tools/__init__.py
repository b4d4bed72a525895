"""Function calling: ``@tool`` and schemas (base), ``tool_registry`` (registry), the safe
``ToolExecutor`` (executor) and the built-in tools (builtins, files, sandbox, net, calc).

The engine resolves selectors with ``tool_registry.resolve``, offers ``[t.spec for t in tools]``
to the model and runs each round's calls with ``ToolExecutor(tools, config.tools, approve).run_all``.
"""
