/// The vehicle a contract finances or hires.
public struct Vehicle: Hashable, Sendable {
    public var registration: String
    public var vin: String
    public var make: String
    public var model: String

    public init(registration: String, vin: String, make: String, model: String) {
        self.registration = registration
        self.vin = vin
        self.make = make
        self.model = model
    }
}
