"""Small files the package ships: presets, pyvisa-sim instrument YAML, small logged runs."""
