// ONNX Runtime's environment is process-wide and the machines have two cores: these tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
