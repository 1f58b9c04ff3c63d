"""ImageNet-standard CNN backbones (torchvision / timm architectures) in Flax Linen.

Each trunk maps x_BxHxWxC to {"features": B x D, "feature_map": B x h x w x D};
`BUILDERS[name](model_cfg, num_classes)` wraps one in `common.Classifier`, which reads
batch["image"] and returns {"logits": B x K, "features": B x D}."""

from merjax.models.backbones import convnext, efficientnet, mobilevit, resnet, vgg

BUILDERS = {
    "vgg19": vgg.build,
    "resnet18": resnet.build_resnet18,
    "resnet50": resnet.build_resnet50,
    "efficientnet_b0": efficientnet.build_efficientnet_b0,
    "efficientnetv2_s": efficientnet.build_efficientnetv2_s,
    "convnext_tiny": convnext.build,
    "mobilevit_s": mobilevit.build,
}
