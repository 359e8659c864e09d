"""The notebook front-end: magics, progress widgets, approval cards, rich display."""
