"""The official 2D single-label MedMNIST v2 / MedMNIST+ files: classes, split sizes, checksums.

Data only, so it can be checked against the release by eye. Every fact here (titles, label names,
channels, split totals, md5 of each file) is carried over from the MedMNIST release metadata
(``medmnist/info.py`` of the ``medmnist`` 3.0.2 wheel on PyPI), which is also where the official
downloader takes them from; the files live on Zenodo record 10519652. Each set has one file per
native size: ``<flag>.npz`` at 28 px and ``<flag>_<size>.npz`` at 64, 128 and 224 px (MedMNIST+),
all with the same images, labels and split.

Per-class counts are published by MedMNIST only as split totals; the three sets whose per-class
counts augbench checks against (``counts``) take them from the files in ``../shared/data`` (see its
README), everything else says "split totals only" rather than inventing numbers.

The MedMNIST 3D sets and ChestMNIST (multi-label) are left out: augbench handles one label per 2D
image.
"""
from __future__ import annotations

from dataclasses import dataclass, field

RECORD = "https://zenodo.org/records/10519652/files/{}?download=1"
HOME = "https://medmnist.com/ (MedMNIST v2 / MedMNIST+, Zenodo record 10519652)"
SIZES = (28, 64, 128, 224)


@dataclass(frozen=True)
class MedMNISTSet:
    """One MedMNIST set as released: what ``info()`` reports and what ``fetch`` checks."""

    flag: str  # MedMNIST's own name, the stem of its files
    title: str
    task: str  # "binary" or "multi-class" (augbench's words for MedMNIST's task)
    class_names: tuple[str, ...]
    channels: int
    totals: dict  # split -> images, as published
    md5: dict  # native size (px) -> md5 of the official file
    licence: str
    description: str
    counts: dict = field(default_factory=dict)  # split -> per-class counts, where augbench has them

    def filename(self, size: int) -> str:
        return f"{self.flag}.npz" if size == 28 else f"{self.flag}_{size}.npz"

    def url(self, size: int) -> str:
        return RECORD.format(self.filename(size))


BY = "CC BY 4.0"
ORGANS = ("bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left",
          "lung-right", "pancreas", "spleen")

CATALOG: dict[str, MedMNISTSet] = {s.flag: s for s in (
    MedMNISTSet(
        "pathmnist", "PathMNIST", "multi-class",
        ("adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle", "normal colon mucosa",
         "cancer-associated stroma", "colorectal adenocarcinoma epithelium"), 3,
        {"train": 89996, "val": 10004, "test": 7180},
        {28: "a8b06965200029087d5bd730944a56c1", 64: "55aa9c1e0525abe5a6b9d8343a507616",
         128: "ac42d08fb904d92c244187169d1fd1d9", 224: "2c51a510bcdc9cf8ddb2af93af1eadec"},
        BY, "Colorectal cancer histology patches (NCT-CRC-HE-100K; test CRC-VAL-HE-7K from another centre), RGB."),
    MedMNISTSet(
        "dermamnist", "DermaMNIST", "multi-class",
        # HAM10000's dx codes in MedMNIST's label order, the names `isic` and `dermamnist` use, so the
        # three HAM10000 datasets log the same per-class metric names (MedMNIST's long names: akiec =
        # actinic keratoses and intraepithelial carcinoma, bcc = basal cell carcinoma, bkl = benign
        # keratosis-like lesions, df = dermatofibroma, mel = melanoma, nv = melanocytic nevi, vasc = vascular lesions)
        ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"), 3,
        {"train": 7007, "val": 1003, "test": 2005},
        {28: "0744692d530f8e62ec473284d019b0c7", 64: "b70a2f5635c6199aeaa28c31d7202e1f",
         128: "2defd784463fa5243564e855ed717de1", 224: "8974907d8e169bef5f5b96bc506ae45d"},
        "CC BY-NC 4.0",
        "HAM10000 dermoscopy as MedMNIST shrank it from the 600x450 originals, RGB, official DermaMNIST split "
        "(which shares lesions across splits).",
        {"train": (228, 359, 769, 80, 779, 4693, 99), "val": (33, 52, 110, 12, 111, 671, 14),
         "test": (66, 103, 220, 23, 223, 1341, 29)}),
    MedMNISTSet(
        "octmnist", "OCTMNIST", "multi-class",
        ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"), 1,
        {"train": 97477, "val": 10832, "test": 1000},
        {28: "c68d92d5b585d8d81f7112f81e2d0842", 64: "e229e9440236b774d9f0dfef9d07bdaf",
         128: "0a97e76651ace45c5d943ee3f65b63ae", 224: "abc493b6d529d5de7569faaef2773ba3"},
        BY, "Retinal optical coherence tomography, gray, centre-cropped."),
    MedMNISTSet(
        "pneumoniamnist", "PneumoniaMNIST", "binary", ("normal", "pneumonia"), 1,
        {"train": 4708, "val": 524, "test": 624},
        {28: "28209eda62fecd6e6a2d98b1501bb15f", 64: "8f4eceb4ccffa70c672198ea285246c6",
         128: "05b46931834c231683c68f40c47b2971", 224: "d6a3c71de1b945ea11211b03746c1fe1"},
        BY, "Pediatric chest X-rays (Kermany), gray, official MedMNIST split.",
        {"train": (1214, 3494), "val": (135, 389), "test": (234, 390)}),
    MedMNISTSet(
        "retinamnist", "RetinaMNIST", "multi-class", ("0", "1", "2", "3", "4"), 3,
        {"train": 1080, "val": 120, "test": 400},
        {28: "bd4c0672f1bba3e3a89f0e4e876791e4", 64: "afda852cc34dcda56f86ad2b2457dbcc",
         128: "e48e916a24454daf90583d4e6efb1a18", 224: "eae7e3b6f3fcbda4ae613ebdcbe35348"},
        BY, "Fundus photographs (DeepDRiD) graded 0-4 for diabetic retinopathy, RGB. MedMNIST poses it as "
            "ordinal regression; augbench treats the five grades as classes."),
    MedMNISTSet(
        "breastmnist", "BreastMNIST", "binary", ("malignant", "normal, benign"), 1,
        {"train": 546, "val": 78, "test": 156},
        {28: "750601b1f35ba3300ea97c75c52ff8f6", 64: "742edef2a1fd1524b2efff4bd7ba9364",
         128: "363e4b3f8d712e9b5de15470a2aaadf1", 224: "b56378a6eefa9fed602bb16d192d4c8b"},
        BY, "Breast ultrasound, gray, official MedMNIST split.",
        {"train": (147, 399), "val": (21, 57), "test": (42, 114)}),
    MedMNISTSet(
        "bloodmnist", "BloodMNIST", "multi-class",
        ("basophil", "eosinophil", "erythroblast",
         "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)", "lymphocyte", "monocyte",
         "neutrophil", "platelet"), 3,
        {"train": 11959, "val": 1712, "test": 3421},
        {28: "7053d0359d879ad8a5505303e11de1dc", 64: "2b94928a2ae4916078ca51e05b6b800b",
         128: "adace1e0ed228fccda1f39692059dd4c", 224: "b718ff6835fcbdb22ba9eacccd7b2601"},
        BY, "Peripheral blood cell microscopy, RGB."),
    MedMNISTSet(
        "tissuemnist", "TissueMNIST", "multi-class",
        ("Collecting Duct, Connecting Tubule", "Distal Convoluted Tubule", "Glomerular endothelial cells",
         "Interstitial endothelial cells", "Leukocytes", "Podocytes", "Proximal Tubule Segments",
         "Thick Ascending Limb"), 1,
        {"train": 165466, "val": 23640, "test": 47280},
        {28: "ebe78ee8b05294063de985d821c1c34b", 64: "123ece2eba09d0aa5d698fda57103344",
         128: "61b955355d7425a89687b06cca3ce0c2", 224: "b077128c4a949f0a4eb01517f9037b9c"},
        BY, "Kidney cortex cells (microscopy, 2D projections), gray."),
    MedMNISTSet(
        "organamnist", "OrganAMNIST", "multi-class", ORGANS, 1,
        {"train": 34561, "val": 6491, "test": 17778},
        {28: "68e3f8846a6bd62f0c9bf841c0d9eacc", 64: "2dcccc29b88e6da5a01161ef20cda288",
         128: "eeae80d0a227a8d099027e1b3cfd3b60", 224: "50747347e05c87dd3aaf92c49f9f3170"},
        BY, "Abdominal CT (LiTS), axial slices around 11 organs, gray."),
    MedMNISTSet(
        "organcmnist", "OrganCMNIST", "multi-class", ORGANS, 1,
        {"train": 12975, "val": 2392, "test": 8216},
        {28: "b9ceb9546e10131b32923c5bbeaea2b1", 64: "3ce34a8724ea6f548e6db4744d03b6a9",
         128: "773c1f009daa3fe5d9a2a201b2a7ed94", 224: "050f5e875dc056f6768abf94ec9995d1"},
        BY, "Abdominal CT (LiTS), coronal slices around 11 organs, gray."),
    MedMNISTSet(
        "organsmnist", "OrganSMNIST", "multi-class", ORGANS, 1,
        {"train": 13932, "val": 2452, "test": 8827},
        {28: "9ab87b696fb54e2a387ebe992d6ed5f1", 64: "53a6d115339d874c25e309a994ff46d3",
         128: "ded0c5fa01a95dc4978b956f613e9b8e", 224: "b354719e553fbbb2513d5533f52a4cb1"},
        BY, "Abdominal CT (LiTS), sagittal slices around 11 organs, gray."),
)}

# registered name -> MedMNIST flag. `pneumonia` and `breast` keep the names their runs were hashed
# under; DermaMNIST's npz is `dermamnist-npz` because `dermamnist` is HAM10000's JPEGs under the
# DermaMNIST split (datasets/isic.py).
NAMES = {
    "pneumonia": "pneumoniamnist", "breast": "breastmnist", "dermamnist-npz": "dermamnist",
    **{flag: flag for flag in ("pathmnist", "octmnist", "retinamnist", "bloodmnist", "tissuemnist", "organamnist",
                               "organcmnist", "organsmnist")},
}
