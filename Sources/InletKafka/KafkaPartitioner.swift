import CRdKafka

/// The partition librdkafka's default partitioner (`consistent_random`: CRC32 of the key)
/// picks for a key — so a worker can tell which keys its assigned partitions hold.
public enum KafkaPartitioner {
    public static func partition(forKey key: String, partitions: Int) -> Int32 {
        precondition(partitions > 0, "a topic has at least one partition")
        return key.utf8CString.withUnsafeBufferPointer { buffer in
            rd_kafka_msg_partitioner_consistent_random(nil, buffer.baseAddress, buffer.count - 1, Int32(partitions), nil, nil)
        }
    }
}
