"""The pure integrity core: Merkle hashing, proofs, compact ranges, signed notes, checkpoints.

Nothing here does I/O. Stores persist what :class:`CompactRange` hands out and fetch what a
:class:`ProofPlan` asks for; everything else is computation that a verifier can repeat offline.
"""

from .checkpoints import (
    ORIGIN_PREFIX,
    Checkpoint,
    open_checkpoint,
    origin_for_tenant,
    parse_checkpoint,
    sign_checkpoint,
)
from .compact import CompactRange, fold_edge
from .errors import CheckpointError, IntegrityError, NoteError, ProofError
from .merkle import EMPTY_ROOT, HASH_SIZE, hash_children, hash_leaf, root_from_leaf_hashes
from .nodes import NodeID, range_nodes
from .notes import (
    SIGTYPE_ED25519,
    Signer,
    Verifier,
    generate_signer_key,
    key_id,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    verifier_key_from_signer_key,
)
from .proofs import (
    ProofPlan,
    consistency_plan,
    consistency_proof,
    inclusion_plan,
    inclusion_proof,
)
from .verify import root_from_inclusion_proof, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ORIGIN_PREFIX",
    "SIGTYPE_ED25519",
    "Checkpoint",
    "CheckpointError",
    "CompactRange",
    "IntegrityError",
    "NodeID",
    "NoteError",
    "ProofError",
    "ProofPlan",
    "Signer",
    "Verifier",
    "consistency_plan",
    "consistency_proof",
    "fold_edge",
    "generate_signer_key",
    "hash_children",
    "hash_leaf",
    "inclusion_plan",
    "inclusion_proof",
    "key_id",
    "open_checkpoint",
    "open_note",
    "origin_for_tenant",
    "parse_checkpoint",
    "parse_signer_key",
    "parse_verifier_key",
    "range_nodes",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "sign_note",
    "verifier_key_from_signer_key",
    "verify_consistency",
    "verify_inclusion",
]
