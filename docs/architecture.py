"""Draws docs/architecture.png: the AWS building blocks of the Fruits! platform and the data
flow between them. Regenerate with `make architecture` (needs Graphviz: apt-get install graphviz).
"""
from diagrams import Cluster, Diagram, Edge
from diagrams.aws.analytics import EMRCluster
from diagrams.aws.integration import StepFunctions
from diagrams.aws.management import CloudwatchLogs
from diagrams.aws.security import IAMRole, KMS
from diagrams.aws.storage import SimpleStorageServiceS3Bucket
from diagrams.onprem.client import User

GRAPH = {"fontsize": "13", "pad": "0.5", "splines": "spline"}

with Diagram("Fruits! image platform (one EU region, e.g. eu-west-3 Paris)", filename="docs/architecture",
             outformat="png", show=False, direction="LR", graph_attr=GRAPH):
    user = User("fruits CLI\nupload, stage,\nstart, watch")
    with Cluster("AWS account, EU region only (GDPR)"):
        key = KMS("customer-managed\nKMS key (rotation)")
        roles = IAMRole("least-privilege roles\nEMR service, nodes, Step Functions")
        with Cluster("S3 bucket: SSE-KMS, TLS only, no public access, versioned"):
            images = SimpleStorageServiceS3Bucket("images/<label>/*.jpg")
            artifacts = SimpleStorageServiceS3Bucket("artifacts/<hash>/\ncode, bootstrap, weights")
            results = SimpleStorageServiceS3Bucket("results/<run>/\nfeatures, PCA matrix,\nmanifest, plots")
            logs = SimpleStorageServiceS3Bucket("logs/ (expire)")
        machine = StepFunctions("state machine\ncreate -> extract -> PCA\n-> always terminate")
        with Cluster("transient EMR 7.13 cluster (Spark 3.5, Python 3.11), lives only during a run"):
            extract = EMRCluster("step 1: extract features\nbroadcast MobileNetV2,\npandas UDF")
            reduce = EMRCluster("step 2: PCA\npyspark.ml")
        cloudwatch = CloudwatchLogs("execution logs\n(KMS, short retention)")

    user >> Edge(label="images, artifacts") >> images
    user >> artifacts
    user >> Edge(label="start execution") >> machine
    machine >> Edge(label="RunJobFlow, AddStep .sync") >> extract
    extract >> Edge(label="features") >> reduce
    images >> extract
    artifacts >> Edge(style="dashed", label="bootstrap, code, weights") >> extract
    reduce >> Edge(label="matrix CSV + Parquet") >> results
    extract >> Edge(style="dashed") >> logs
    machine >> Edge(style="dashed") >> cloudwatch
    key >> Edge(style="dotted", label="encrypts") >> results
    roles >> Edge(style="dotted") >> machine
