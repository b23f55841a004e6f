"""Models and training: LG and SVM with their over-sampling and interventions, CIFAR-style
ResNets, their losses and training loop, the latent over-sampling and re-heading methods
(EOS, DSM, tau-normalisation), devices, and the authors' checkpoints."""
