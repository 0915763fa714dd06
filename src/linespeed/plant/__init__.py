"""The plant: master data of contract 1, loaded from YAML, and the VIN codec.

- `model`: the typed, immutable plant (`Plant`, `Line`, `Station`, `Model`, `BomPart`,
  `Shift`, `Break`, `Milestones`, `VinSpec`); `with_tracking`.
- `load`: `load_plant` / `parse_plant` (YAML to a validated `Plant`, every error with file,
  line and field), `plant_to_yaml_dict`; `DEFAULT_PLANT_PATH`, the bundled `default.yaml`.
- `vin`: ISO 3779 / 49 CFR 565: `check_digit`, `validate_vin`, `describe_vin`,
  `model_year_code`, `model_for_vin`, `nth_vin`.
"""
