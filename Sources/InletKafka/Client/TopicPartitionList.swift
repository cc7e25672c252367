import CRdKafka

/// Conversions between `[TopicPartition]` and `rd_kafka_topic_partition_list_t`.
enum TopicPartitionList {
    static func read(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartition] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return TopicPartition(
                topic: String(cString: element.topic),
                partition: element.partition,
                offset: element.offset >= 0 ? element.offset : nil
            )
        }
    }

    /// Calls `body` with a C list of `partitions`; an absent offset is passed as
    /// `defaultOffset` (e.g. `RD_KAFKA_OFFSET_BEGINNING`).
    static func with<T>(
        _ partitions: [TopicPartition],
        defaultOffset: Int64 = Int64(RD_KAFKA_OFFSET_INVALID),
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> T
    ) rethrows -> T {
        let list = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions {
            let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
            element.pointee.offset = partition.offset ?? defaultOffset
        }
        return try body(list)
    }
}
