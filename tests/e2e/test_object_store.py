"""The Cloud keys against a real S3-compatible server on 127.0.0.1 (moto_server, with credentials
checked): data in and checkpoints out of a data-parallel run, uploads as checkpoints are written
(a killed job resumes from the store), one-line errors before training, retried uploads."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from src.cluster.object_store import Mirror, S3Store, parse_url
from src.core.errors import UserError
from tests.helpers.datasets import make_corpus
from tests.helpers.msrun_jobs import NARROW, finish, free_port, launch_env, start
from tests.helpers.processes import ROOT, assert_one_line_error

STORE_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "S3_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
)
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class S3Server:
    """moto_server on 127.0.0.1:port with one IAM user; auth is enforced once the user exists."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not self._up():
            assert time.monotonic() < deadline and self.process.poll() is None, "moto_server did not start"
            time.sleep(0.1)
        iam = self.client("iam", "bootstrap", "bootstrap")
        iam.create_user(UserName="fcn4")
        iam.put_user_policy(UserName="fcn4", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
        key = iam.create_access_key(UserName="fcn4")["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request, timeout=10).read()
        self.s3 = self.client("s3", self.key_id, self.secret)

    def _up(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
        except OSError:
            return False
        return True

    def client(self, service: str, key_id: str, secret: str):
        import boto3

        return boto3.session.Session().client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    def env(self, endpoint: str | None = None, **overrides) -> dict:
        """Environment for a process (or monkeypatch) that reaches this server with good credentials."""
        env = {
            "AWS_ENDPOINT_URL": endpoint or self.url,
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        env.update(overrides)
        return env

    def put_tree(self, local: Path, bucket: str, prefix: str) -> None:
        with contextlib.suppress(self.s3.exceptions.BucketAlreadyOwnedByYou):
            self.s3.create_bucket(Bucket=bucket)
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            self.s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(local).as_posix()}")

    def keys(self, bucket: str, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
        return sorted(item["Key"][len(prefix) + 1 :] for page in pages for item in page.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def server():
    s3 = S3Server(free_port())
    yield s3
    s3.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, server):
    """A small corpus preprocessed locally and uploaded to s3://fcn4-data/mtat/mr."""
    root = make_corpus(tmp_path_factory.mktemp("s3corpus"), num_clips=18)
    server.put_tree(root / "mr", "fcn4-data", "mtat/mr")
    server.s3.create_bucket(Bucket="fcn4-runs")
    return root


def _cloud_args(cache: Path, run: str, data_url: str = "s3://fcn4-data/mtat/mr") -> list[str]:
    """Keys of a cloud run: data in from data_url, everything under output_path out to train_url."""
    return [
        "--data_url",
        data_url,
        "--data_path",
        str(cache / "data"),
        "--mr_path",
        str(cache / "data"),
        "--train_url",
        f"s3://fcn4-runs/{run}",
        "--output_path",
        str(cache / "out"),
        "--checkpoint_path",
        str(cache / "out" / "ckpt"),
    ]


def _train(*args: str, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "train.py", *NARROW, "--batch_size", "4", *args],
        cwd=ROOT,
        env=launch_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_data_parallel_run_takes_data_from_s3_and_uploads_its_checkpoints(server, corpus, tmp_path):
    """Two msrun ranks on one host: local rank 0 copies data_url in while rank 1 waits; rank 0 alone
    uploads; rotated checkpoints disappear from the bucket too."""
    cache = tmp_path / "cache"
    job = start(
        2,
        tmp_path / "logs",
        *_cloud_args(cache, "dp"),
        "--batch_size",
        "4",
        "--epoch_size",
        "2",
        "--save_step",
        "1",
        "--keep_checkpoint_max",
        "1",
        MASTER_PORT=free_port(),
        **server.env(),
    )
    code, out, err = finish(job, tmp_path / "logs")
    assert code == 0, (out[-3000:], err[-3000:])
    assert "waiting for local rank 0 to finish copying" in (tmp_path / "logs" / "worker_1.log").read_text()
    local = sorted(  # hidden files (the run's lock) stay local: the mirror uploads outputs only
        p.relative_to(cache / "out").as_posix()
        for p in (cache / "out").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    remote = server.keys("fcn4-runs", "dp")
    assert remote == local
    state = json.loads((cache / "out" / "ckpt" / "train_state.json").read_text())
    assert {
        "ckpt/MusicTagger-best.ckpt",
        f"ckpt/{state['checkpoint']}",
        "ckpt/metrics.jsonl",
        "ckpt/config.yaml",
        "ckpt/model_params.json",
        "ckpt/tags.txt",
        "ckpt/train_state.json",
    } == set(remote)
    for key in remote:
        assert server.read("fcn4-runs", f"dp/{key}") == (cache / "out" / key).read_bytes(), key
    assert server.key_id not in out + err and server.secret not in out + err


def test_a_killed_job_has_its_checkpoints_in_the_store_and_resumes_from_there(server, corpus, tmp_path):
    """Checkpoints are uploaded as they are written: after SIGKILL the bucket holds the last one and
    the state naming it; a fresh machine (empty cache) with --resume continues from them."""
    args = ["--epoch_size", "6", "--save_step", "1", "--eval_each_epoch", "False"]
    job = subprocess.Popen(
        [sys.executable, "train.py", *NARROW, "--batch_size", "4", *_cloud_args(tmp_path / "first", "killed"), *args],
        cwd=ROOT,
        env=launch_env(**server.env()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while "ckpt/train_state.json" not in server.keys("fcn4-runs", "killed") and job.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint reached the bucket"
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    uploaded = json.loads(server.read("fcn4-runs", "killed/ckpt/train_state.json"))
    assert f"ckpt/{uploaded['checkpoint']}" in server.keys("fcn4-runs", "killed")

    fresh = tmp_path / "second"
    result = _train(*_cloud_args(fresh, "killed"), *args, "--resume", "True", env=server.env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resumed from {uploaded['checkpoint']}" in result.stderr
    final = json.loads(server.read("fcn4-runs", "killed/ckpt/train_state.json"))
    assert final["epoch"] == 6 and final["global_step"] > uploaded["global_step"], "the kill landed mid-run"


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ({"data_url": "s3://no-such-bucket/mr"}, ["data_url=s3://no-such-bucket/mr", "bucket does not exist"]),
        ({"train_url": "s3://no-such-bucket/run"}, ["train_url=s3://no-such-bucket/run", "bucket does not exist"]),
        ({"data_url": "s3://fcn4-data/empty"}, ["data_url=s3://fcn4-data/empty", "no objects under this prefix"]),
        (
            {"AWS_SECRET_ACCESS_KEY": "not-the-secret"},
            ["data_url=s3://fcn4-data/mtat/mr", "access denied", "SignatureDoesNotMatch"],
        ),
        ({"AWS_ACCESS_KEY_ID": ""}, ["need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"]),
    ],
)
def test_a_wrong_bucket_or_bad_credentials_is_one_line_before_training(server, corpus, tmp_path, change, needles):
    urls = [item for key, value in change.items() if key.endswith("_url") for item in (f"--{key}", value)]
    env = server.env(**{k: v for k, v in change.items() if k.startswith("AWS")})
    result = _train(*_cloud_args(tmp_path, "bad"), *urls, env=env)
    line = assert_one_line_error(result, *needles)
    assert "epoch" not in result.stderr and not (tmp_path / "out" / "ckpt").exists()
    assert server.secret not in result.stderr and "not-the-secret" not in line


def test_eval_reads_data_and_checkpoint_from_s3_and_uploads_its_result(server, corpus, tmp_path):
    """The generic wrapper (eval.py): data_url and checkpoint_url in, result_file out to train_url."""
    trained = tmp_path / "trained"
    result = _train("--mr_path", str(corpus / "mr"), "--checkpoint_path", str(trained), "--epoch_size", "1", env={})
    assert result.returncode == 0, result.stderr[-3000:]
    server.put_tree(trained, "fcn4-runs", "for-eval")
    cache = tmp_path / "cache"
    result = subprocess.run(
        [
            sys.executable,
            "eval.py",
            "--device_target",
            "CPU",
            "--data_url",
            "s3://fcn4-data/mtat/mr",
            "--data_path",
            str(cache / "data"),
            "--mr_path",
            str(cache / "data"),
            "--checkpoint_url",
            "s3://fcn4-runs/for-eval",
            "--load_path",
            str(cache / "out" / "ckpt"),
            "--checkpoint_path",
            str(cache / "out" / "ckpt"),
            "--output_path",
            str(cache / "out"),
            "--train_url",
            "s3://fcn4-runs/eval-result",
        ],
        cwd=ROOT,
        env=launch_env(**server.env()),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(server.read("fcn4-runs", "eval-result/ckpt/eval_val.json"))
    assert summary["split"] == "val" and 0.0 <= summary["roc_auc"] <= 1.0


# ---------- the store client itself, in process ----------


class FlakyProxy:
    """TCP proxy on 127.0.0.1 in front of the server that resets the first `drops` connections
    whose first request is a PUT, after reading the start of the body: interrupted uploads."""

    def __init__(self, target_port: int, drops: int) -> None:
        self.target_port, self.drops, self.cut, self.puts = target_port, drops, 0, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        first = client.recv(65536)
        if first.startswith(b"PUT "):
            self.puts += 1
            if self.cut < self.drops:
                self.cut += 1
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()
                return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        upstream.sendall(first)
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


def _store_through(server, monkeypatch, drops: int, attempts: int) -> tuple[S3Store, FlakyProxy]:
    proxy = FlakyProxy(int(server.url.rsplit(":", 1)[1]), drops)
    for name in STORE_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env(endpoint=f"http://127.0.0.1:{proxy.port}").items():
        monkeypatch.setenv(name, value)
    return S3Store(max_attempts=attempts), proxy


def test_an_interrupted_upload_is_retried(server, tmp_path, monkeypatch):
    server.s3.create_bucket(Bucket="fcn4-retry")
    payload = tmp_path / "MusicTagger-1_1.ckpt"
    payload.write_bytes(os.urandom(3 << 20))
    store, proxy = _store_through(server, monkeypatch, drops=2, attempts=4)
    store.upload_file(payload, "s3://fcn4-retry/run/MusicTagger-1_1.ckpt", "train_url")
    proxy.close()
    assert proxy.cut == 2 and proxy.puts >= 3
    assert server.read("fcn4-retry", "run/MusicTagger-1_1.ckpt") == payload.read_bytes()


def test_an_upload_that_keeps_failing_is_a_one_line_error_after_the_attempts(server, tmp_path, monkeypatch):
    server.s3.create_bucket(Bucket="fcn4-down")
    payload = tmp_path / "state.json"
    payload.write_text("{}")
    store, proxy = _store_through(server, monkeypatch, drops=100, attempts=3)
    with pytest.raises(UserError, match=r"train_url=s3://fcn4-down/state.json: .*after 3 attempts") as error:
        store.upload_file(payload, "s3://fcn4-down/state.json", "train_url")
    proxy.close()
    assert proxy.cut >= 3 and "\n" not in str(error.value)


def test_the_mirror_sends_each_version_of_a_file_once(server, tmp_path, monkeypatch):
    server.s3.create_bucket(Bucket="fcn4-mirror")
    store, proxy = _store_through(server, monkeypatch, drops=0, attempts=2)
    root = tmp_path / "out"
    (root / "ckpt").mkdir(parents=True)
    (root / "ckpt" / "a.ckpt").write_bytes(b"first")
    mirror = Mirror(store, root, "s3://fcn4-mirror/run")
    mirror.push(root / "ckpt" / "a.ckpt")
    (root / "ckpt" / "metrics.jsonl").write_text("{}\n")
    assert mirror.push_tree() == 1, "a.ckpt is unchanged since it was pushed"
    (root / "ckpt" / "a.ckpt").write_bytes(b"second")
    assert mirror.push_tree() == 1
    mirror.drop(root / "ckpt" / "a.ckpt")
    proxy.close()
    assert server.keys("fcn4-mirror", "run") == ["ckpt/metrics.jsonl"]


@pytest.mark.parametrize("url", ["/cache/data", "http://host/data", "s3://", "gs://bucket/x"])
def test_only_s3_and_obs_urls_are_accepted(url):
    with pytest.raises(UserError, match=r"data_url=.*expected s3://BUCKET/PREFIX or obs://BUCKET/PREFIX"):
        parse_url(url, "data_url")
    assert parse_url("obs://bucket/a/b/", "data_url").key("c") == "a/b/c"
