# Rewrites references to the team's design notes (which are not part of the repository) into
# references to the repository's own documents. docs/algorithm.md keeps the section numbers of the
# algorithm notes, so a cited section number stays valid. Run with GNU sed -E:
#
#   git grep -lE 'PIRF-SPEC|ARCHITECTURE\.md|ENVIRONMENT\.md|STYLE\.md|SLURM-TESTING' -- \
#       ':!scripts/spec_refs.sed' ':!tests/docs' | xargs -r sed -E -i -f scripts/spec_refs.sed
#
# Idempotent: its output contains none of the patterns it matches. tests/docs/check_links.py
# (ctest docs_no_team_doc_names) reports whatever is left.

# A path prefix to the shared notes, if any, goes with the name.
s#(/work/shared/docs/|shared/docs/)(PIRF-SPEC|ARCHITECTURE|ENVIRONMENT|STYLE|SLURM-TESTING)#\2#g

# The algorithm: "PIRF-SPEC.md §2.4", "PIRF-SPEC §2.4", "PIRF-SPEC 5.4", "PIRF-SPEC section 5.4".
s#PIRF-SPEC(\.md)?,? (section|§) ?([0-9])#docs/algorithm.md §\3#g
s#PIRF-SPEC(\.md)? ([0-9])#docs/algorithm.md §\2#g
s#PIRF-SPEC(\.md)?#docs/algorithm.md#g

# The design, the environment (packages, MPI as root, the machine's peak), the code style, the
# notes on testing job scripts under a private SLURM.
s#ARCHITECTURE\.md#docs/architecture.md#g
s#ENVIRONMENT\.md#docs/install.md#g
s#STYLE\.md#docs/DEVELOPING.md#g
s#the project's SLURM-TESTING notes#docs/DEVELOPING.md, "Testing job scripts"#g
s#SLURM-TESTING(\.md)?#docs/DEVELOPING.md#g

# Text that named the notes as the team's shared documents.
s#docs/algorithm.md in the shared design documents#docs/algorithm.md#g
s#docs/architecture.md in the shared design documents#docs/architecture.md#g
