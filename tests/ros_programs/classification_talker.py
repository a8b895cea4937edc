# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A minimal node that publishes vision_msgs/Classification, for the two-process harness test."""

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from vision_msgs.msg import Classification, ObjectHypothesis


class ClassificationTalker(Node):

    def __init__(self):
        super().__init__('classification_talker')
        self.declare_parameter('class_id', 'plastic')
        self.declare_parameter('frame_id', 'bin_camera')
        self._publisher = self.create_publisher(Classification, 'classification', 10)
        self.create_timer(0.05, self._publish)
        self._announced = False

    def _publish(self):
        if not self._announced:
            # Said from a callback, so a test that waits for it knows the node is spinning and
            # its signal handlers are in place.
            self.get_logger().info('talker ready')
            self._announced = True
        message = Classification()
        message.header.stamp = self.get_clock().now().to_msg()
        message.header.frame_id = self.get_parameter('frame_id').value
        message.results = [
            ObjectHypothesis(class_id=self.get_parameter('class_id').value, score=0.75),
            ObjectHypothesis(class_id='glass', score=0.25),
        ]
        self._publisher.publish(message)


def main():
    rclpy.init()
    node = ClassificationTalker()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        # A signal that shuts the context down during a publish makes it raise RCLError.
        if rclpy.ok():
            raise
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
