@testable import canvaswire
import Testing
