"""Repository tools: the wiring diagram generator and its SVG writer."""
