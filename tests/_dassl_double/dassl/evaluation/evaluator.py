import os.path as osp
from collections import OrderedDict, defaultdict

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, f1_score

from .build import EVALUATOR_REGISTRY


class EvaluatorBase:

    def __init__(self, cfg):
        self.cfg = cfg

    def reset(self):
        raise NotImplementedError

    def process(self, mo, gt):
        raise NotImplementedError

    def evaluate(self):
        raise NotImplementedError


@EVALUATOR_REGISTRY.register()
class Classification(EvaluatorBase):
    """Micro accuracy, error and macro-F1 over argmax predictions."""

    def __init__(self, cfg, lab2cname=None, **kwargs):
        super().__init__(cfg)
        self._lab2cname = lab2cname
        self._per_class_res = None
        if cfg.TEST.PER_CLASS_RESULT:
            assert lab2cname is not None
        self.reset()

    def reset(self):
        self._correct = 0
        self._total = 0
        self._y_true = []
        self._y_pred = []
        if self.cfg.TEST.PER_CLASS_RESULT:
            self._per_class_res = defaultdict(list)

    def process(self, mo, gt):
        """``mo``: logits [batch, num_classes]; ``gt``: labels [batch]."""
        pred = mo.max(1)[1]
        hits = pred.eq(gt).float()
        self._correct += int(hits.sum().item())
        self._total += gt.shape[0]
        self._y_true.extend(gt.data.cpu().numpy().tolist())
        self._y_pred.extend(pred.data.cpu().numpy().tolist())
        if self._per_class_res is not None:
            for label, hit in zip(gt.tolist(), hits.tolist()):
                self._per_class_res[label].append(int(hit))

    def evaluate(self):
        acc = 100.0 * self._correct / self._total
        err = 100.0 - acc
        macro_f1 = 100.0 * f1_score(
            self._y_true, self._y_pred, average="macro",
            labels=np.unique(self._y_true)
        )
        results = OrderedDict(
            [("accuracy", acc), ("error_rate", err), ("macro_f1", macro_f1)]
        )
        print(
            "\n".join([
                "=> result",
                f"* total: {self._total:,}",
                f"* correct: {self._correct:,}",
                f"* accuracy: {acc:.1f}%",
                f"* error: {err:.1f}%",
                f"* macro_f1: {macro_f1:.1f}%",
            ])
        )

        if self._per_class_res is not None:
            print("=> per-class result")
            class_accs = []
            for label in sorted(self._per_class_res):
                hits = self._per_class_res[label]
                n_ok, n_all = sum(hits), len(hits)
                class_acc = 100.0 * n_ok / n_all
                class_accs.append(class_acc)
                print(
                    f"* class: {label} ({self._lab2cname[label]})\t"
                    f"total: {n_all:,}\tcorrect: {n_ok:,}\t"
                    f"acc: {class_acc:.1f}%"
                )
            mean_acc = np.mean(class_accs)
            print(f"* average: {mean_acc:.1f}%")
            results["perclass_accuracy"] = mean_acc

        if self.cfg.TEST.COMPUTE_CMAT:
            cmat = confusion_matrix(
                self._y_true, self._y_pred, normalize="true"
            )
            save_path = osp.join(self.cfg.OUTPUT_DIR, "cmat.pt")
            torch.save(cmat, save_path)
            print(f"Confusion matrix is saved to {save_path}")

        return results
