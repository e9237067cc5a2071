// ONNX Runtime's environment is process-wide, the samples run as processes beside these tests, and the machines have
// two cores: these tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
