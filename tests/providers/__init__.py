"""Protocol-faithful local Ollama and OpenAI servers for tests and benchmarks."""

from .ollama_server import OllamaModel, OllamaServer
from .openai_server import OpenAIServer
from .script import Reply, Request, Script

__all__ = ["OllamaModel", "OllamaServer", "OpenAIServer", "Reply", "Request", "Script"]
