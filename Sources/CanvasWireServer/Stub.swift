import NIOCore
import NIOWebSocket
import NIOSSL
import NIOHTTP1
import NIOPosix
import Logging
import Prometheus
import Metrics
