"""Features from the Spark job (broadcast weights, pandas UDF on 2 workers) equal those of a
plain single-process Keras model loaded from the same file, on the same real images, within
1e-4, with either engine: ONNX Runtime (the default) or Keras."""
from __future__ import annotations

import numpy as np
import pytest

from fruits.features import InferenceSettings
from fruits.steps.extract_step import ExtractArgs, run_extract

pytestmark = pytest.mark.slow


def keras_reference_features(paths, weights_file) -> np.ndarray:
    """Keras's own loader, preprocessing and model: nothing from the fruits package."""
    import keras
    from keras.applications.mobilenet_v2 import preprocess_input

    model = keras.applications.MobileNetV2(input_shape=(224, 224, 3), include_top=False, weights=None, pooling="avg")
    model.load_weights(str(weights_file))
    batch = np.stack([
        keras.utils.img_to_array(keras.utils.load_img(path, target_size=(224, 224), interpolation="bilinear"))
        for path in paths
    ])
    return np.asarray(model.predict_on_batch(preprocess_input(batch)))


@pytest.mark.parametrize("engine", ["onnxruntime", "keras"])
def test_spark_features_equal_plain_keras(spark, small_sample, weights_file, tmp_path, engine):
    summary = run_extract(spark, ExtractArgs(images=str(small_sample), output=str(tmp_path / "run"),
                                             weights=str(weights_file), images_per_partition=8,
                                             inference=InferenceSettings(engine=engine)))
    assert summary["settings"]["engine"] == engine
    assert summary["featurized"] == 40 and summary["rejected"] == 0
    assert summary["settings"]["partitions"] == 6  # 40 images / 8 per partition, in 3 waves of the 2 workers
    rows = spark.read.parquet(str(tmp_path / "run" / "features")).collect()
    by_path = {row.path.removeprefix("file:"): row for row in rows}
    paths = sorted(by_path)
    spark_features = np.array([by_path[path].features for path in paths], dtype=np.float32)
    reference = keras_reference_features(paths, weights_file)

    assert spark_features.shape == (40, 1280)
    assert np.abs(spark_features - reference).max() <= 1e-4
    assert np.abs(reference).max() > 0.1  # real activations, not a degenerate all-zero output
    assert [by_path[path].label for path in paths] == [path.split("/")[-2] for path in paths]
