"""Governance: the lifecycle that moves only on evidence, the AI-Act profile, its duties, the FRIA, the register.

- `stages`: idee -> experiment -> pilot -> opschalen (and gestopt), the history check, manifest edits;
- `aiact`: the guided decision (Dutch decision aid structure, Algoritmekader vocabulary, article per answer);
- `duties`: what follows from a profile, and whether the manifest shows each is met;
- `gates`: the evidence each stage asks for (runs, baseline, demo, scrubber, DPIA, FRIA, lessons, forks);
- `register`: the public register record (algorithm register standard 1.0.0), validated;
- `lifecycle`: what the commands do (`promote`, `ai-act`, `fria`, `status`).
"""
