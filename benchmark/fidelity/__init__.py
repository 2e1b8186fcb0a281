"""Fidelity of generated images: FID/KID/PRDC per class, MS-SSIM diversity, memorisation, grids.

Every metric is computed on features from a named extractor (pytorch-fid's Inception when its
weights file is present, otherwise skipped with the reason; a classifier trained on the dataset's
own training split always), and logged with the sample counts it rests on. See docs/fidelity.md.
"""
from augbench.benchmark.fidelity.domain import DomainExtractor, domain_extractor
from augbench.benchmark.fidelity.evaluate import class_keys, evaluate_fidelity, fidelity_params
from augbench.benchmark.fidelity.extractor import ExtractorUnavailable, FeatureExtractor
from augbench.benchmark.fidelity.frechet import fid_from_features, frechet_distance
from augbench.benchmark.fidelity.grid import sample_grid
from augbench.benchmark.fidelity.inception import InceptionExtractor, default_weights_path, inception_extractor
from augbench.benchmark.fidelity.kid import kid_from_features
from augbench.benchmark.fidelity.memorisation import memorisation_score, memorisation_share
from augbench.benchmark.fidelity.msssim import ms_ssim, ms_ssim_diversity, ms_ssim_scales
from augbench.benchmark.fidelity.prdc import prdc

__all__ = [
    "DomainExtractor", "ExtractorUnavailable", "FeatureExtractor", "InceptionExtractor", "class_keys",
    "default_weights_path", "domain_extractor", "evaluate_fidelity", "fid_from_features",
    "fidelity_params", "frechet_distance", "inception_extractor", "kid_from_features",
    "memorisation_score", "memorisation_share", "ms_ssim", "ms_ssim_diversity", "ms_ssim_scales", "prdc", "sample_grid",
]
